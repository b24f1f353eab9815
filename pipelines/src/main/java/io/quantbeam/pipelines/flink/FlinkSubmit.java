package io.quantbeam.pipelines.flink;

import com.fasterxml.jackson.databind.JsonNode;
import io.quantbeam.core.QuantbeamException;
import io.quantbeam.pipelines.CommandLine;
import io.quantbeam.pipelines.Commands;
import io.quantbeam.pipelines.QuantizeOptions;
import io.quantbeam.pipelines.QuantizePipeline;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipFile;

/**
 * Submits a Quantbeam pipeline to a Flink cluster with Beam's classic FlinkRunner: fills in
 * {@code --runner=FlinkRunner}, {@code --flinkMaster} and {@code --filesToStage} (the shaded jar
 * this class runs from) when they are not given, and checks before submitting that a cluster
 * answers at the address and that the job jar holds the pipeline's classes. A class missing on the
 * cluster while the job runs becomes an error that names the class and the jar.
 */
public final class FlinkSubmit {
  /** Classes the cluster needs for the quantize pipeline (its DoFns and transforms). */
  static final List<String> QUANTIZE_CLASSES = List.of(
      "io.quantbeam.pipelines.QuantizePipeline", "io.quantbeam.transforms.ObserveActivations",
      "io.quantbeam.core.calib.Calibrator");
  private static final Pattern MISSING_CLASS = Pattern.compile(
      "(?:ClassNotFoundException|NoClassDefFoundError)[:\\s]+(?:Could not initialize class )?"
          + "([A-Za-z_$][\\w$]*(?:[./][A-Za-z_$][\\w$]*)+)");

  private FlinkSubmit() {}

  /** {@code --runner}, {@code --flinkMaster} and {@code --filesToStage} filled in where absent. */
  public static List<String> withFlinkDefaults(List<String> args, String defaultMaster) {
    Map<String, String> flink = new LinkedHashMap<>();
    flink.put("runner", "FlinkRunner");
    flink.put("flinkMaster", defaultMaster);
    List<String> out = CommandLine.withDefaults(args, flink);
    if (!CommandLine.given(out, "filesToStage")
        && !isInProcess(CommandLine.value(out, "flinkMaster").orElse(defaultMaster))) {
      Path jar = ownJar().orElseThrow(() -> new QuantbeamException("Cannot tell which job jar to"
          + " stage: this code does not run from a jar. Pass --filesToStage=<the shaded jar>"
          + " (pipelines/target/quantbeam-pipelines.jar)."));
      out.add("--filesToStage=" + jar);
    }
    return out;
  }

  /**
   * Runs {@code quantize} on the cluster the options name (after the checks) and returns its
   * report.
   */
  public static JsonNode quantize(List<String> args) {
    check(args, QUANTIZE_CLASSES);
    QuantizeOptions options = Commands.QUANTIZE.parse(args).orElseThrow(); // no --help here
    try {
      return QuantizePipeline.run(options);
    } catch (RuntimeException e) {
      throw explain(e, args);
    }
  }

  /** The checks before submission: a cluster at the address, jars that hold {@code classes}. */
  public static void check(List<String> args, List<String> classes) {
    String runner = CommandLine.value(args, "runner").orElse("");
    if (!runner.equals("FlinkRunner") && !runner.endsWith(".FlinkRunner")) {
      return;
    }
    String master = CommandLine.value(args, "flinkMaster").orElse("[auto]");
    if (!isInProcess(master)) {
      String address = master.replaceFirst("^https?://", "");
      if (FlinkCluster.overview(address).isEmpty()) {
        FlinkCluster.rest(address, "/overview"); // throws the error that names the address
      }
    }
    Optional<String> staged = CommandLine.value(args, "filesToStage");
    if (staged.isEmpty()) {
      return;
    }
    List<Path> jars = Arrays.stream(staged.get().split(",")).map(String::trim)
        .filter(s -> !s.isEmpty()).map(Path::of).toList();
    List<String> missing = new ArrayList<>(classes);
    for (Path jar : jars) {
      if (!Files.isRegularFile(jar)) {
        throw new QuantbeamException("The job jar " + jar + " (--filesToStage) does not exist."
            + " Build it with QUANTBEAM_REBUILD=1 ./quantbeam help, or point --filesToStage at"
            + " pipelines/target/quantbeam-pipelines.jar.");
      }
      try (ZipFile zip = new ZipFile(jar.toFile())) {
        missing.removeIf(c -> zip.getEntry(c.replace('.', '/') + ".class") != null);
      } catch (IOException e) {
        throw new QuantbeamException("The job jar " + jar + " (--filesToStage) is not a readable"
            + " jar: " + e + ". Rebuild it with QUANTBEAM_REBUILD=1 ./quantbeam help.", e);
      }
    }
    if (!missing.isEmpty()) {
      throw new QuantbeamException("The job jar " + staged.get() + " (--filesToStage) lacks "
          + String.join(", ", missing) + ", which the Flink cluster needs to run this pipeline."
          + " Stage the shaded jar pipelines/target/quantbeam-pipelines.jar (rebuild it with"
          + " QUANTBEAM_REBUILD=1 ./quantbeam help). Nothing was submitted.");
    }
  }

  /**
   * A failure whose causes mention a class the cluster could not load becomes a QuantbeamException
   * that names the class and the staged jars; any other failure is returned as it is.
   */
  static RuntimeException explain(RuntimeException e, List<String> args) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      Matcher m = MISSING_CLASS.matcher(t.getClass().getName() + ": " + t.getMessage());
      if (t instanceof ClassNotFoundException || t instanceof NoClassDefFoundError || m.find()) {
        String name = m.find(0) ? m.group(1).replace('/', '.') : String.valueOf(t.getMessage());
        return new QuantbeamException("The Flink job failed: the cluster cannot load class " + name
            + " (not in the job jar "
            + CommandLine.value(args, "filesToStage").orElse("(none staged)")
            + "?). Stage the shaded jar with --filesToStage=pipelines/target/"
            + "quantbeam-pipelines.jar, rebuilt after code changes with QUANTBEAM_REBUILD=1.", e);
      }
      if (t instanceof QuantbeamException q && t != e) {
        return new QuantbeamException(q.getMessage(), e);
      }
    }
    return e;
  }

  static boolean isInProcess(String master) {
    return master.equals("[local]") || master.equals("[auto]") || master.equals("[collection]");
  }

  /** The jar this class was loaded from, if it was loaded from a jar. */
  static Optional<Path> ownJar() {
    try {
      var source = FlinkSubmit.class.getProtectionDomain().getCodeSource();
      if (source == null) {
        return Optional.empty();
      }
      Path p = Path.of(source.getLocation().toURI());
      return Files.isRegularFile(p) ? Optional.of(p) : Optional.empty();
    } catch (URISyntaxException | SecurityException e) {
      return Optional.empty();
    }
  }
}
