package io.quantbeam.core.registry;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.stats.CalibrationTable;
import io.quantbeam.core.stats.TensorStats;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelRegistryTest {
  @TempDir Path tmp;

  Path[] artifacts(String name, float value) throws Exception {
    Path model = tmp.resolve(name + ".onnx");
    Files.write(model, ("model " + name).getBytes());
    TensorStats s = new TensorStats();
    s.addBatch(new float[] {value, -value}, 0, 2);
    Path table = tmp.resolve(name + ".qbct");
    new CalibrationTable(Map.of("t", s), Map.of()).write(table);
    return new Path[] {model, table};
  }

  ObjectNode fields(String parent) {
    ObjectNode n = new ObjectMapper().createObjectNode();
    n.put("parent", parent);
    return n;
  }

  @Test
  void registersVersionsIdempotentlyAndSwitchesCurrent() throws Exception {
    ModelRegistry r = new ModelRegistry(tmp.resolve("reg"), "demo");
    assertTrue(r.current().isEmpty());
    Path[] a = artifacts("a", 1f);
    ModelRegistry.Version v1 = r.register(a[0], a[1], fields(""));
    assertEquals("v1", v1.name());
    r.setCurrent("v1");
    assertEquals("v1", r.current().orElseThrow().name());
    assertEquals("v1", r.register(a[0], a[1], fields("")).name()); // same bytes: no new version
    Path[] b = artifacts("b", 2f);
    ModelRegistry.Version v2 = r.register(b[0], b[1], fields("v1"));
    assertEquals("v2", v2.name());
    assertEquals("v1", v2.manifest().path("parent").asText());
    assertEquals(List.of("v1", "v2"), r.versions());
    assertEquals("v1", r.current().orElseThrow().name()); // registering does not promote
    r.setCurrent("v2");
    assertArrayEquals(Files.readAllBytes(b[0]), Files.readAllBytes(r.current().orElseThrow().model()),
        "the registry holds a copy of the model");
    try (var s = Files.list(r.dir())) {
      assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith(".")), "no leftovers");
    }
  }

  @Test
  void damagedVersionsAreClearErrorsAndCurrentStays() throws Exception {
    ModelRegistry r = new ModelRegistry(tmp.resolve("reg"), "demo");
    Path[] a = artifacts("a", 1f);
    r.register(a[0], a[1], fields(""));
    r.setCurrent("v1");
    Path[] b = artifacts("b", 2f);
    ModelRegistry.Version v2 = r.register(b[0], b[1], fields("v1"));
    Files.writeString(v2.dir().resolve(ModelRegistry.MANIFEST), "{not json");
    QuantbeamException corrupt = assertThrows(QuantbeamException.class, () -> r.setCurrent("v2"));
    assertTrue(corrupt.getMessage().contains("corrupt"), corrupt.getMessage());
    Files.delete(v2.dir().resolve(ModelRegistry.MANIFEST));
    QuantbeamException missing = assertThrows(QuantbeamException.class, () -> r.setCurrent("v2"));
    assertTrue(missing.getMessage().contains("has no manifest.json"), missing.getMessage());
    assertEquals("v1", r.current().orElseThrow().name());
    Files.write(r.current().orElseThrow().model(), "tampered".getBytes());
    QuantbeamException changed = assertThrows(QuantbeamException.class, r::current);
    assertTrue(changed.getMessage().contains("was changed"), changed.getMessage());
    assertThrows(QuantbeamException.class, () -> new ModelRegistry(tmp, "../escape"));
  }
}
