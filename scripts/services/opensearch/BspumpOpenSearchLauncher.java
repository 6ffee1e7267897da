/*
 * Starts one OpenSearch 2.19 node in this JVM from jars on the classpath (Maven Central artifacts,
 * see pom.xml), for bspump's integration tests. Compiled and started by scripts/services/up.
 *
 * Usage: java -Dbspump.os.home=<dir> [-Dbspump.os.http.port=9200] [-Dbspump.os.transport.port=9300]
 *             -cp <classes>:<libs>/* BspumpOpenSearchLauncher
 *
 * The node binds to 127.0.0.1 only, runs as a single-node cluster with security off (no security
 * plugin is loaded) and disk-based shard allocation thresholds disabled. SIGTERM closes it cleanly.
 */
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.index.mapper.MapperExtrasPlugin;
import org.opensearch.index.reindex.ReindexPlugin;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

public final class BspumpOpenSearchLauncher {

    /** The plugins a stock OpenSearch distribution loads as modules, limited to what the tests use. */
    static final List<Class<? extends Plugin>> PLUGINS = List.of(
        Netty4Plugin.class,
        CommonAnalysisPlugin.class,
        MapperExtrasPlugin.class,
        PainlessPlugin.class,
        ReindexPlugin.class
    );

    static final class TestNode extends Node {
        TestNode(Environment environment) {
            super(environment, PLUGINS, true);
        }
    }

    public static void main(String[] args) throws Exception {
        Path home = Paths.get(required("bspump.os.home")).toAbsolutePath();
        String httpPort = System.getProperty("bspump.os.http.port", "9200");
        String transportPort = System.getProperty("bspump.os.transport.port", "9300");
        for (String dir : new String[] { "config", "data", "logs", "plugins", "modules" }) {
            Files.createDirectories(home.resolve(dir));
        }

        Settings settings = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("cluster.name", "bspump-test")
            .put("node.name", "bspump-test-node")
            .put("network.host", "127.0.0.1")
            .put("http.port", httpPort)
            .put("transport.port", transportPort)
            .put("discovery.type", "single-node")
            .put("http.type", Netty4Plugin.NETTY_HTTP_TRANSPORT_NAME)
            .put("transport.type", Netty4Plugin.NETTY_TRANSPORT_NAME)
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .put("action.auto_create_index", true)
            .put("action.destructive_requires_name", false)
            .build();

        LogConfigurator.registerErrorListener();
        Environment environment = InternalSettingsPreparer.prepareEnvironment(
            settings, Collections.emptyMap(), home.resolve("config"), () -> "bspump-test-node");
        LogConfigurator.setNodeName("bspump-test-node");
        LogConfigurator.configure(environment);

        TestNode node = new TestNode(environment);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(20, TimeUnit.SECONDS);
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }, "bspump-opensearch-shutdown"));

        try {
            node.start();
        } catch (Throwable t) {
            t.printStackTrace();
            System.exit(1);
        }
        System.out.println("bspump: OpenSearch node started, http 127.0.0.1:" + httpPort);
        System.out.flush();
        stopped.await();
    }

    private static String required(String name) {
        String value = System.getProperty(name);
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException("system property " + name + " is required");
        }
        return value;
    }
}
