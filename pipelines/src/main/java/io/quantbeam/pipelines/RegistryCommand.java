package io.quantbeam.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.registry.ModelRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;

/**
 * {@code quantbeam registry register|list|rollback}: the model registry by hand.
 * <ul>
 *   <li>{@code register --from=<quantize output> --registry=DIR --modelName=NAME}: adds the
 *       quantize run's selected model and calibration table as a version (or finds the identical
 *       one) and makes it current.
 *   <li>{@code list --registry=DIR --modelName=NAME}: versions, their parents and scores.
 *   <li>{@code rollback --to=vN --registry=DIR --modelName=NAME}: makes an earlier version current.
 * </ul>
 */
public final class RegistryCommand {
  private RegistryCommand() {}

  public static void main(String[] args) throws IOException {
    if (args.length == 0) {
      throw new QuantbeamException("usage: quantbeam registry register|list|rollback"
          + " --registry=DIR --modelName=NAME [--from=QUANTIZE_OUTPUT | --to=vN]");
    }
    Map<String, String> opts = new HashMap<>();
    for (int i = 1; i < args.length; i++) {
      String a = args[i];
      int eq = a.indexOf('=');
      if (!a.startsWith("--") || eq < 0) {
        throw new QuantbeamException("Unexpected argument '" + a + "': options are --name=value");
      }
      opts.put(a.substring(2, eq), a.substring(eq + 1));
    }
    ModelRegistry registry = new ModelRegistry(Path.of(required(opts, "registry")),
        required(opts, "modelName"));
    switch (args[0]) {
      case "register" -> {
        ModelRegistry.Version v = register(registry, Path.of(required(opts, "from")));
        System.out.println("registered " + v.name() + " (" + v.modelSha256() + "); current: "
            + v.name());
      }
      case "list" -> {
        String current = registry.current().map(ModelRegistry.Version::name).orElse("");
        for (String name : registry.versions()) {
          JsonNode m = registry.version(name).manifest();
          System.out.printf("%s %-4s parent=%-4s origin=%-8s %s %s%n",
              name.equals(current) ? "*" : " ", name, m.path("parent").asText("-"),
              m.path("origin").asText(), m.path("metrics"), m.path("createdAt").asText());
        }
      }
      case "rollback" -> {
        registry.setCurrent(required(opts, "to"));
        System.out.println("current: " + required(opts, "to"));
      }
      default -> throw new QuantbeamException("Unknown registry command '" + args[0]
          + "': use register, list or rollback");
    }
  }

  private static String required(Map<String, String> opts, String name) {
    String v = opts.get(name);
    if (v == null || v.isBlank()) {
      throw new QuantbeamException("quantbeam registry needs --" + name + "=...");
    }
    return v;
  }

  /** Registers a quantize run's output (its report says what is where) and makes it current. */
  static ModelRegistry.Version register(ModelRegistry registry, Path quantizeOutput)
      throws IOException {
    Path reportFile = quantizeOutput.resolve(QuantizePipeline.REPORT_FILE);
    if (!Files.isRegularFile(reportFile)) {
      throw new QuantbeamException("No " + QuantizePipeline.REPORT_FILE + " in " + quantizeOutput
          + ": pass the --output folder of a finished `quantbeam quantize` run.");
    }
    ObjectMapper json = new ObjectMapper();
    JsonNode report = json.readTree(reportFile.toFile());
    JsonNode model = report.path("model");
    if (!model.path("quantizeArgs").isArray() || !report.path("tokenizer").isObject()) {
      throw new QuantbeamException(reportFile + " lacks the model's quantize options or tokenizer:"
          + " it was written by an older quantbeam. Run quantize again.");
    }
    ObjectNode fields = json.createObjectNode();
    fields.put("parent", registry.current().map(ModelRegistry.Version::name).orElse(""));
    fields.put("origin", "quantize");
    fields.set("floatModel", model.path("source"));
    fields.set("tokenizer", report.path("tokenizer"));
    fields.set("quantizeArgs", model.path("quantizeArgs"));
    fields.putArray("dataFingerprints").add(report.path("calibration").path("dataFingerprint")
        .asText());
    fields.put("calibrationData", report.path("input").path("data").asText());
    fields.put("candidate", model.path("candidate").asText("default"));
    ObjectNode metrics = fields.putObject("metrics");
    for (JsonNode c : report.path("candidates")) {
      if (c.path("name").asText().equals(model.path("candidate").asText())) {
        metrics.set("accuracy", c.path("accuracy"));
        metrics.set("agreement", c.path("agreement"));
      }
    }
    fields.put("createdAt", Instant.now().toString());
    ModelRegistry.Version v = registry.register(Path.of(model.path("path").asText()),
        Path.of(report.path("calibration").path("tablePath").asText()), fields);
    registry.setCurrent(v.name());
    return v;
  }
}
