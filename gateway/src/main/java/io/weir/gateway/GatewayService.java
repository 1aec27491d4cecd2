package io.weir.gateway;

import io.vertx.core.http.HttpServer;
import io.weir.gateway.completions.CompletionCalls;
import io.weir.gateway.completions.UsageRecorder;
import io.weir.gateway.limits.RequestLimiter;
import io.weir.gateway.replies.ReplyDispatcher;
import io.weir.gateway.replies.RequestSubmitter;
import io.weir.infra.launch.ServiceContext;
import io.weir.infra.launch.WeirService;
import io.weir.infra.topics.Topics;
import io.weir.registry.ModelRegistry;
import io.weir.registry.WorkerDirectory;
import io.weir.registry.limits.ConcurrencyLeases;
import io.weir.registry.limits.RateLimits;
import io.weir.registry.usage.UsageLedger;
import org.apache.kafka.clients.producer.KafkaProducer;

import java.time.Clock;
import java.time.Duration;
import java.util.List;

/** The gateway service: HTTP in, Kafka requests out, reply events back out as JSON or SSE. */
public final class GatewayService implements WeirService {
    @Override
    public String name() {
        return "gateway";
    }

    @Override
    public String description() {
        return "HTTP API (LLM Engine, OpenAI, EGP) over Kafka";
    }

    @Override
    public int startOrder() {
        return 50;
    }

    @Override
    public Running start(ServiceContext context) throws Exception {
        var vertx = context.vertx();
        try (var admin = context.kafka().admin()) {
            Topics.ensure(admin, Topics.completionRequests(), Topics.cancels());
        }
        KafkaProducer<String, byte[]> producer = context.kafka().producer("gateway-" + context.instanceId());
        ReplyDispatcher replies = new ReplyDispatcher(context.kafka(), context.instanceId());
        ModelRegistry registry = new ModelRegistry(context.hazelcast());
        // Leases are named after this instance: the slots it holds lapse if it dies without giving them back.
        ConcurrencyLeases leases = new ConcurrencyLeases(context.hazelcast(), "gateway-" + context.instanceId(),
                ConcurrencyLeases.DEFAULT_LEASE_TIME);
        RequestLimiter limiter = new RequestLimiter(new RateLimits(context.hazelcast()), leases);
        UsageLedger usage = new UsageLedger(context.hazelcast());
        CompletionCalls calls = new CompletionCalls(vertx, registry, new RequestSubmitter(producer), replies, limiter,
                new UsageRecorder(usage, Clock.systemUTC()));
        var router = GatewayServer.router(vertx, context.hazelcast(), registry,
                new WorkerDirectory(context.hazelcast()), calls, usage);
        HttpServer server = GatewayServer.listen(vertx, router, context.options().host(), context.options().port());
        String url = "http://" + context.options().host() + ":" + server.actualPort();
        return new Running() {
            @Override
            public List<String> banner() {
                return List.of("Gateway:   " + url + "   (LLM_ENGINE_BASE_PATH=" + url + "/)");
            }

            @Override
            public void close() throws Exception {
                server.close().toCompletionStage().toCompletableFuture().get();
                replies.close();
                leases.close();
                producer.close(Duration.ofSeconds(2));
            }
        };
    }
}
