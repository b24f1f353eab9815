package io.quantbeam.pipelines.flink;

import io.quantbeam.core.QuantbeamException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The local cluster's classpath, {@code flink-conf/target/flink-lib}: Flink 1.19.3's runtime,
 * clients, RPC loader, web UI and log4j, plus ONNX Runtime and the DJL tokenizer, resolved by Maven
 * from {@code flink-conf/pom.xml} on first use (there is no Flink tarball in our registry).
 */
public final class FlinkLib {
  private static final String MARKER = ".resolved";

  private FlinkLib() {}

  /** The lib folder, resolved with {@code mvn} first if it is not complete yet. */
  public static synchronized Path ensure(Path repoRoot) {
    Path pom = repoRoot.resolve("flink-conf/pom.xml");
    Path lib = repoRoot.resolve("flink-conf/target/flink-lib");
    if (Files.exists(lib.resolve(MARKER))) {
      return lib;
    }
    if (!Files.isRegularFile(pom)) {
      throw new QuantbeamException("No " + pom + ": the Flink cluster is started from a Quantbeam"
          + " checkout (set -Dquantbeam.repo=<checkout> or run ./quantbeam from it).");
    }
    List<String> cmd = new ArrayList<>(List.of(System.getProperty("quantbeam.mvn", "mvn"),
        "-q", "-B"));
    String extra = System.getenv().getOrDefault("QUANTBEAM_MVN_OPTS", "");
    for (String w : extra.trim().split("\\s+")) {
      if (!w.isEmpty()) {
        cmd.add(w);
      }
    }
    cmd.addAll(List.of("-f", pom.toString(), "package"));
    System.err.println("flink: resolving the cluster's jars into " + lib + " (first use): "
        + String.join(" ", cmd));
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(20, TimeUnit.MINUTES) || p.exitValue() != 0) {
        throw new QuantbeamException("Maven could not resolve the Flink cluster's jars ("
            + String.join(" ", cmd) + "):\n" + out + "\nCheck network access to Maven Central, or"
            + " that ~/.m2 holds them for an offline build.");
      }
      Files.writeString(lib.resolve(MARKER), "resolved from " + pom + "\n");
      return lib;
    } catch (IOException e) {
      throw new QuantbeamException("Cannot run Maven (" + cmd.get(0) + ") to resolve the Flink"
          + " cluster's jars: " + e + ". Install Maven or set -Dquantbeam.mvn=/path/to/mvn.", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new QuantbeamException("Interrupted while resolving the Flink cluster's jars", e);
    }
  }
}
