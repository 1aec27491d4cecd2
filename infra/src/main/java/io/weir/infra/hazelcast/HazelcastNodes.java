package io.weir.infra.hazelcast;

import com.hazelcast.client.HazelcastClient;
import com.hazelcast.client.config.ClientConfig;
import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.NetworkConfig;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;

import java.nio.file.Path;

/**
 * Hazelcast members and clients, configured the same way everywhere: TCP/IP join on explicit
 * addresses (no multicast), no phone-home, Jet off.
 */
public final class HazelcastNodes {
    public static final String DEFAULT_CLUSTER = "weir";

    private HazelcastNodes() {
    }

    /**
     * Starts a member that binds {@code port} (or the next free one) on {@code bindHost} and joins the members
     * listed; with none, it starts a cluster of its own.
     *
     * @param members "host:port" addresses of existing members, may be empty
     */
    public static HazelcastInstance member(String clusterName, String bindHost, int port, String... members) {
        return Hazelcast.newHazelcastInstance(memberConfig(clusterName, bindHost, port, members));
    }

    /**
     * Like {@link #member(String, String, int, String...)}, with the {@link DurableMaps} kept in files under
     * {@code durableStateDir}: what a member that should survive restarts (the registry, {@code weir up}) runs.
     */
    public static HazelcastInstance member(String clusterName, String bindHost, int port, Path durableStateDir,
                                           String... members) {
        Config config = memberConfig(clusterName, bindHost, port, members);
        var stores = DurableMaps.configure(config, durableStateDir);
        HazelcastInstance member = Hazelcast.newHazelcastInstance(config);
        try {
            DurableMaps.follow(member, stores);
        } catch (RuntimeException e) {
            member.shutdown();
            throw e;
        }
        return member;
    }

    private static Config memberConfig(String clusterName, String bindHost, int port, String... members) {
        Config config = new Config();
        config.setClusterName(clusterName);
        config.setInstanceName("weir-" + clusterName + "-" + port + "-" + System.nanoTime());
        config.setProperty("hazelcast.phone.home.enabled", "false");
        config.setProperty("hazelcast.logging.type", "slf4j");
        config.setProperty("hazelcast.shutdownhook.enabled", "false");
        config.getJetConfig().setEnabled(false);
        NetworkConfig network = config.getNetworkConfig();
        network.setPort(port).setPortAutoIncrement(true).setPortCount(100);
        network.getInterfaces().setEnabled(true).addInterface(bindHost);
        JoinConfig join = network.getJoin();
        join.getMulticastConfig().setEnabled(false);
        join.getAutoDetectionConfig().setEnabled(false);
        // Only the members named: two `weir up` on one machine must not merge their registries.
        join.getTcpIpConfig().setEnabled(true);
        for (String m : members) {
            join.getTcpIpConfig().addMember(m);
        }
        return config;
    }

    /** A client of an existing cluster at "host:port". */
    public static HazelcastInstance client(String clusterName, String address) {
        ClientConfig config = new ClientConfig();
        config.setClusterName(clusterName);
        config.setProperty("hazelcast.phone.home.enabled", "false");
        config.setProperty("hazelcast.logging.type", "slf4j");
        config.setProperty("hazelcast.shutdownhook.enabled", "false");
        config.getNetworkConfig().addAddress(address);
        config.getConnectionStrategyConfig().getConnectionRetryConfig().setClusterConnectTimeoutMillis(30_000);
        return HazelcastClient.newHazelcastClient(config);
    }

    /** "host:port" of a member, for the others to join. */
    public static String address(HazelcastInstance member) {
        var a = member.getCluster().getLocalMember().getAddress();
        return a.getHost() + ":" + a.getPort();
    }
}
