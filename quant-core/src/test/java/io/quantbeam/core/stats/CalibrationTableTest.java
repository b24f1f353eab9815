package io.quantbeam.core.stats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quantbeam.core.QuantbeamException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CalibrationTableTest {

  static CalibrationTable sample() {
    Random r = new Random(1);
    TensorStats a = new TensorStats();
    TensorStats b = new TensorStats();
    for (int batch = 0; batch < 3; batch++) {
      float[] v = TensorStatsTest.gaussian(r, 2000, 1.5);
      a.addBatch(v, 0, v.length);
      float[] m = {0f, -3.4e38f, 0f, Float.NaN};
      b.addBatch(m, 0, m.length);
    }
    return new CalibrationTable(Map.of("/layer.0/out", a, "mask", b),
        Map.of("model.sha256", "00ff", "examples", "3", "note", "h\u00e9llo"));
  }

  @Test
  void bytesStartWithMagicAndRoundTrip() {
    CalibrationTable t = sample();
    byte[] bytes = t.toBytes();
    assertEquals("QBCT", new String(bytes, 0, 4, StandardCharsets.US_ASCII));
    assertEquals(CalibrationTable.FORMAT_VERSION, bytes[7]);
    CalibrationTable back = CalibrationTable.fromBytes(bytes);
    assertEquals(t, back);
    assertArrayEquals(bytes, back.toBytes());
    assertEquals(t.sha256(), back.sha256());
    assertEquals(64, t.sha256().length());
    assertEquals(t.metadata(), back.metadata());
    assertEquals(Arrays.asList("/layer.0/out", "mask"), t.tensors().keySet().stream().toList());
    CalibrationTable empty = CalibrationTable.empty();
    assertEquals(empty, CalibrationTable.fromBytes(empty.toBytes()));
  }

  @Test
  void fileRoundTripLeavesNoTemporaryFiles(@TempDir Path dir) throws IOException {
    CalibrationTable t = sample();
    Path file = dir.resolve("sub/calibration.qbct");
    t.write(file);
    t.withMetadata("examples", "4").write(file); // replaces
    assertEquals(t.withMetadata("examples", "4"), CalibrationTable.read(file));
    try (Stream<Path> files = Files.list(file.getParent())) {
      assertEquals(1, files.count());
    }
  }

  @Test
  void missingFileNamesTheFix(@TempDir Path dir) {
    QuantbeamException e = assertThrows(QuantbeamException.class,
        () -> CalibrationTable.read(dir.resolve("nope.qbct")));
    assertTrue(e.getMessage().contains("run calibration first"), e.getMessage());
  }

  @Test
  void corruptTruncatedAndForeignBytesAreRefused() {
    byte[] good = sample().toBytes();
    for (int i = 0; i < good.length; i += Math.max(1, good.length / 97)) {
      byte[] bad = good.clone();
      bad[i] ^= 0x10;
      assertThrows(QuantbeamException.class, () -> CalibrationTable.fromBytes(bad), "byte " + i);
    }
    for (int len : new int[] {0, 3, 4, 8, 12, 19, good.length / 2, good.length - 1}) {
      byte[] cut = Arrays.copyOf(good, len);
      assertThrows(QuantbeamException.class, () -> CalibrationTable.fromBytes(cut), "len " + len);
    }
    byte[] longer = Arrays.copyOf(good, good.length + 1);
    assertThrows(QuantbeamException.class, () -> CalibrationTable.fromBytes(longer));
    QuantbeamException e = assertThrows(QuantbeamException.class,
        () -> CalibrationTable.fromBytes("{\"json\": true}".getBytes(StandardCharsets.UTF_8)));
    assertTrue(e.getMessage().contains("not a Quantbeam calibration table"), e.getMessage());
    byte[] future = good.clone();
    future[7] = 2;
    e = assertThrows(QuantbeamException.class, () -> CalibrationTable.fromBytes(future));
    assertTrue(e.getMessage().contains("version 2"), e.getMessage());
  }

  @Test
  void mergeKeepsSharedMetadataAndRefusesConflicts() {
    CalibrationTable t = sample();
    CalibrationTable other = CalibrationTable.empty()
        .withMetadata("model.sha256", "00ff")
        .withMetadata("data", "sst2")
        .withTensor("extra", new TensorStats());
    CalibrationTable m = t.merge(other);
    assertEquals("sst2", m.metadata().get("data"));
    assertEquals("00ff", m.metadata().get("model.sha256"));
    assertEquals(3, m.tensors().size());
    assertEquals(m, other.merge(t));
    CalibrationTable clash = CalibrationTable.empty().withMetadata("model.sha256", "beef");
    QuantbeamException e = assertThrows(QuantbeamException.class, () -> t.merge(clash));
    assertTrue(e.getMessage().contains("model.sha256"), e.getMessage());
    assertNotEquals(t.sha256(), m.sha256());
  }

  @Test
  void tableCopiesItsInputs() {
    TensorStats s = new TensorStats();
    s.addBatch(new float[] {1f}, 0, 1);
    CalibrationTable t = new CalibrationTable(Map.of("x", s), Map.of());
    s.addBatch(new float[] {5f}, 0, 1);
    assertEquals(1, t.get("x").count());
  }
}
