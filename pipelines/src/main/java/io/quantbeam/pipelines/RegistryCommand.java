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
import java.util.List;
import org.apache.beam.sdk.options.Description;

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

  /** Options of {@code quantbeam registry}. */
  public interface RegistryOptions extends ModelRegistryOptions {
    @Description("register: the --output folder of a finished quantize run")
    String getFrom();

    void setFrom(String value);

    @Description("rollback: the version to make current (e.g. v1)")
    String getTo();

    void setTo(String value);
  }

  public static void main(String[] args) throws IOException {
    List<String> options = CommandLine.options(args);
    if (Commands.REGISTRY.helpAsked(options)) {
      return;
    }
    List<String> words = CommandLine.words(args);
    if (words.size() != 1) {
      throw new QuantbeamException(Commands.REGISTRY.usageLine() + " (one of register, list,"
          + " rollback; got " + words + ")");
    }
    RegistryOptions o = Commands.REGISTRY.parse(options).orElseThrow();
    ModelRegistry registry = new ModelRegistry(Path.of(o.getRegistry()), o.getModelName());
    switch (words.get(0)) {
      case "register" -> {
        ModelRegistry.Version v = register(registry, Path.of(needed(o.getFrom(), "from")));
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
        registry.setCurrent(needed(o.getTo(), "to"));
        System.out.println("current: " + o.getTo());
      }
      default -> throw new QuantbeamException("Unknown registry command '" + words.get(0)
          + "': use register, list or rollback");
    }
  }

  /** An option only one sub-command needs (Beam's @Validation.Required is for all of them). */
  private static String needed(String value, String name) {
    if (value == null || value.isBlank()) {
      throw new QuantbeamException("quantbeam registry needs --" + name + "=...");
    }
    return value;
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
