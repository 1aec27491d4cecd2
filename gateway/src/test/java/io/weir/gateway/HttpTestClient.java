package io.weir.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import io.weir.infra.json.Json;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/** A plain HTTP client speaking to the gateway as the llmengine client does (Basic auth, key as user). */
final class HttpTestClient {
    private static final Duration TIMEOUT = Duration.ofSeconds(120);
    private final HttpClient http;
    private final String baseUrl;

    /** A client that upgrades to HTTP/2 (h2c) where the server agrees, as the JDK client does by default. */
    HttpTestClient(String baseUrl) {
        this(baseUrl, HttpClient.Version.HTTP_2);
    }

    HttpTestClient(String baseUrl, HttpClient.Version version) {
        this.baseUrl = baseUrl;
        this.http = HttpClient.newBuilder().version(version).connectTimeout(Duration.ofSeconds(10)).build();
    }

    record Response(int status, String body) {
        JsonNode json() {
            try {
                return Json.MAPPER.readTree(body);
            } catch (IOException e) {
                throw new UncheckedIOException("not JSON: " + body, e);
            }
        }
    }

    /** The JSON payloads of a stream's data: lines, in order, with the raw status. */
    record Stream(int status, java.net.http.HttpHeaders headers, List<String> dataLines, String raw) {
        List<JsonNode> events() {
            return dataLines.stream().map(l -> {
                try {
                    return Json.MAPPER.readTree(l);
                } catch (IOException e) {
                    throw new UncheckedIOException("a data line is not JSON: " + l, e);
                }
            }).toList();
        }
    }

    static String basic(String key) {
        return "Basic " + Base64.getEncoder().encodeToString((key + ":").getBytes(StandardCharsets.UTF_8));
    }

    Response post(String path, String body, String... headers) {
        return send(request(path, headers).POST(HttpRequest.BodyPublishers.ofString(body)).build());
    }

    Response put(String path, String body, String... headers) {
        return send(request(path, headers).PUT(HttpRequest.BodyPublishers.ofString(body)).build());
    }


    Response get(String path, String... headers) {
        return send(request(path, headers).GET().build());
    }

    Response delete(String path, String... headers) {
        return send(request(path, headers).DELETE().build());
    }

    /** The raw response, headers included, of any method (body null for none). */
    HttpResponse<String> exchange(String method, String path, String body, String... headers) {
        HttpRequest.BodyPublisher publisher = body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body);
        try {
            return http.send(request(path, headers).method(method, publisher).build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The same, without waiting: for calls that stay open while the test does something else. */
    java.util.concurrent.CompletableFuture<HttpResponse<String>> exchangeAsync(String method, String path, String body, String... headers) {
        return http.sendAsync(request(path, headers).method(method, HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    Stream stream(String path, String body, String... headers) {
        try {
            HttpResponse<java.util.stream.Stream<String>> r = http.send(
                    request(path, headers).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofLines());
            List<String> lines = r.body().toList();
            List<String> data = new ArrayList<>();
            for (String line : lines) {
                if (line.startsWith("data:")) {
                    data.add(line.substring(5).trim());
                }
            }
            return new Stream(r.statusCode(), r.headers(), data, String.join("\n", lines));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** A stream read event by event, which the caller may hang up on mid-way (as a client that goes away). */
    static final class OpenStream implements AutoCloseable {
        private final int status;
        private final InputStream body;
        private final java.io.BufferedReader lines;

        private OpenStream(HttpResponse<InputStream> response) {
            this.status = response.statusCode();
            this.body = response.body();
            this.lines = new java.io.BufferedReader(new java.io.InputStreamReader(body, StandardCharsets.UTF_8));
        }

        int status() {
            return status;
        }

        /** The next data: payload, or null at the end of the stream. */
        JsonNode nextEvent() throws IOException {
            for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                if (line.startsWith("data:")) {
                    return Json.MAPPER.readTree(line.substring(5).trim());
                }
            }
            return null;
        }

        /** Hangs up: closing the body before its end closes the connection (HTTP/1.1) or resets the stream (HTTP/2). */
        @Override
        public void close() throws IOException {
            body.close();
        }
    }

    OpenStream openStream(String path, String body, String... headers) {
        try {
            return new OpenStream(http.send(request(path, headers).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofInputStream()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private HttpRequest.Builder request(String path, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(TIMEOUT)
                .header("content-type", "application/json");
        for (int i = 0; i + 1 < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return b;
    }

    private Response send(HttpRequest request) {
        try {
            HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
            return new Response(r.statusCode(), r.body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
