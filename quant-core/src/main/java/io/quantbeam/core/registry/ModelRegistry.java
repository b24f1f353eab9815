package io.quantbeam.core.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.onnx.OnnxModelIO;
import io.quantbeam.core.stats.CalibrationTable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A folder of versioned quantized models: {@code <root>/<name>/v<N>/} holds {@value #MODEL},
 * {@value #TABLE} and {@value #MANIFEST}; {@code <root>/<name>/current} names the serving version.
 *
 * <p>A version is assembled in a hidden temporary folder and renamed into place, and {@code
 * current} is replaced by an atomic rename, so a reader sees either the old state or the new one.
 * Registering a model whose bytes and calibration table are already in a version returns that
 * version instead of adding one: re-running the same job changes nothing.
 */
public final class ModelRegistry {
  public static final String MODEL = "model.int8.onnx";
  public static final String TABLE = "calibration.qbct";
  public static final String MANIFEST = "manifest.json";
  public static final String CURRENT = "current";
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");
  private static final Pattern VERSION = Pattern.compile("v([1-9][0-9]*)");

  private final Path dir;
  private final ObjectMapper json = new ObjectMapper();

  /** One version: its folder and manifest. */
  public record Version(String name, Path dir, JsonNode manifest) {
    public Path model() {
      return dir.resolve(MODEL);
    }

    public Path table() {
      return dir.resolve(TABLE);
    }

    public String modelSha256() {
      return manifest.path("modelSha256").asText();
    }
  }

  public ModelRegistry(Path root, String modelName) {
    if (modelName == null || !NAME.matcher(modelName).matches()) {
      throw new QuantbeamException("Model name '" + modelName + "' is not usable as a registry"
          + " folder: use letters, digits, '.', '_' and '-' (e.g. sst2-minilm).");
    }
    this.dir = root.toAbsolutePath().normalize().resolve(modelName);
  }

  /** The model's folder in the registry. */
  public Path dir() {
    return dir;
  }

  /** Versions present, oldest first (folders named v1, v2, ...; anything else is ignored). */
  public List<String> versions() {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(Files::isDirectory).map(p -> p.getFileName().toString())
          .filter(n -> VERSION.matcher(n).matches())
          .sorted(Comparator.comparingInt(ModelRegistry::number)).toList();
    } catch (IOException e) {
      throw new QuantbeamException("Cannot list the registry folder " + dir + ": " + e, e);
    }
  }

  private static int number(String version) {
    Matcher m = VERSION.matcher(version);
    if (!m.matches()) {
      throw new QuantbeamException("'" + version + "' is not a registry version (v1, v2, ...)");
    }
    return Integer.parseInt(m.group(1));
  }

  /** The serving version, or empty when nothing was promoted yet. */
  public Optional<Version> current() {
    Path pointer = dir.resolve(CURRENT);
    if (!Files.exists(pointer)) {
      return Optional.empty();
    }
    String name;
    try {
      name = Files.readString(pointer, StandardCharsets.UTF_8).trim();
    } catch (IOException e) {
      throw new QuantbeamException("Cannot read " + pointer + ": " + e, e);
    }
    if (!VERSION.matcher(name).matches()) {
      throw new QuantbeamException("The registry pointer " + pointer + " holds '" + name
          + "', not a version. Fix: `quantbeam registry rollback --to=vN` with one of "
          + versions() + ".");
    }
    return Optional.of(version(name));
  }

  /**
   * A version, checked: its manifest must parse and its model file must have the manifest's
   * SHA-256.
   */
  public Version version(String name) {
    number(name);
    Path vdir = dir.resolve(name);
    Path manifest = vdir.resolve(MANIFEST);
    if (!Files.isRegularFile(manifest)) {
      throw new QuantbeamException("Registry version " + vdir + " has no " + MANIFEST
          + ": it is incomplete or was damaged. Fix: restore it from a backup, or roll back to"
          + " another version (" + versions() + ") with `quantbeam registry rollback --to=vN`.");
    }
    JsonNode m;
    try {
      m = json.readTree(manifest.toFile());
    } catch (IOException e) {
      throw new QuantbeamException("The manifest " + manifest + " is corrupt (" + e.getMessage()
          + "). Fix: restore it, or roll back to another version with `quantbeam registry"
          + " rollback --to=vN`.", e);
    }
    if (m == null || !m.isObject() || !m.path("modelSha256").isTextual()) {
      throw new QuantbeamException("The manifest " + manifest + " is corrupt: no modelSha256."
          + " Fix: restore it, or roll back with `quantbeam registry rollback --to=vN`.");
    }
    Path model = vdir.resolve(MODEL);
    if (!Files.isRegularFile(model)) {
      throw new QuantbeamException("Registry version " + vdir + " has no " + MODEL
          + ". Fix: restore it, or roll back with `quantbeam registry rollback --to=vN`.");
    }
    String sha = OnnxModelIO.sha256(model);
    if (!sha.equals(m.path("modelSha256").asText())) {
      throw new QuantbeamException("Registry version " + vdir + ": " + MODEL + " has SHA-256 "
          + sha + " but the manifest says " + m.path("modelSha256").asText()
          + ": the file was changed. Fix: restore it, or roll back with `quantbeam registry"
          + " rollback --to=vN`.");
    }
    return new Version(name, vdir, m);
  }

  /**
   * Adds a version holding copies of {@code model} and {@code table} and the manifest {@code
   * fields} (the registry adds version, modelSha256 and calibrationSha256), or returns the existing
   * version with the same model and table bytes. Does not change {@code current}.
   */
  public Version register(Path model, Path table, ObjectNode fields) {
    String modelSha = OnnxModelIO.sha256(model);
    String tableSha = CalibrationTable.read(table).sha256();
    for (String v : versions()) {
      Version existing = version(v);
      if (existing.modelSha256().equals(modelSha)
          && existing.manifest().path("calibrationSha256").asText().equals(tableSha)) {
        return existing;
      }
    }
    List<String> all = versions();
    String name = "v" + (all.isEmpty() ? 1 : number(all.get(all.size() - 1)) + 1);
    ObjectNode manifest = json.createObjectNode();
    manifest.put("version", name);
    manifest.put("modelSha256", modelSha);
    manifest.put("calibrationSha256", tableSha);
    manifest.setAll(fields);
    Path staging = null;
    try {
      Files.createDirectories(dir);
      staging = Files.createTempDirectory(dir, "." + name + ".");
      Files.copy(model, staging.resolve(MODEL));
      Files.copy(table, staging.resolve(TABLE));
      Files.write(staging.resolve(MANIFEST),
          json.writerWithDefaultPrettyPrinter().writeValueAsBytes(manifest));
      Files.move(staging, dir.resolve(name), StandardCopyOption.ATOMIC_MOVE);
      staging = null;
    } catch (IOException e) {
      throw new QuantbeamException("Cannot add " + name + " to the registry " + dir + ": " + e
          + ". Nothing was changed; check free space and permissions.", e);
    } finally {
      deleteQuietly(staging);
    }
    return version(name);
  }

  /** Makes {@code name} the serving version (atomic replace of the pointer). */
  public void setCurrent(String name) {
    version(name); // refuse to point at a damaged version
    Path pointer = dir.resolve(CURRENT);
    try {
      io.quantbeam.core.AtomicFiles.write(pointer, (name + "\n").getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new QuantbeamException("Cannot update " + pointer + ": " + e, e);
    }
  }

  private static void deleteQuietly(Path p) {
    if (p == null) {
      return;
    }
    try (Stream<Path> s = Files.walk(p)) {
      List<Path> all = new ArrayList<>(s.toList());
      all.sort(Comparator.reverseOrder());
      for (Path f : all) {
        Files.deleteIfExists(f);
      }
    } catch (IOException ignored) {
      // best effort on a temporary folder
    }
  }
}
