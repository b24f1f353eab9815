package io.quantbeam.core.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.testing.TestInputs;
import io.quantbeam.core.testing.TinyTransformer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OnnxModelIOTest {
  @TempDir Path tmp;

  private static final ModelProto TINY = TinyTransformer.build();

  @Test
  void saveLoadRoundTripIsByteIdentical() throws IOException {
    Path a = tmp.resolve("a.onnx");
    Path b = tmp.resolve("b.onnx");
    OnnxModelIO.save(TINY, a);
    ModelProto loaded = OnnxModelIO.load(a);
    assertEquals(TINY, loaded);
    assertArrayEquals(OnnxModelIO.toBytes(TINY), Files.readAllBytes(a));
    OnnxModelIO.save(loaded, b);
    assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));
    assertEquals(OnnxModelIO.sha256(a), OnnxModelIO.sha256(b));
    assertArrayEquals(OnnxModelIO.toBytes(TINY), OnnxModelIO.toBytes(TinyTransformer.build()), "deterministic");
    assertEquals(List.of("a.onnx", "b.onnx"), listNames(tmp), "no temp files left behind");
  }

  @Test
  void modelsInMemoryLoadAndRunAsFilesDoAndRefuseExternalData() throws IOException {
    Path a = tmp.resolve("a.onnx");
    OnnxModelIO.save(TINY, a);
    byte[] bytes = Files.readAllBytes(a);
    assertEquals(OnnxModelIO.load(a), OnnxModelIO.load(bytes, "hdfs://nn/a.onnx"));
    assertEquals(OnnxModelIO.sha256(a), OnnxModelIO.sha256(bytes));
    try (var fromFile = new io.quantbeam.core.validate.ModelRunner(a, 1);
        var fromBytes = new io.quantbeam.core.validate.ModelRunner(bytes, "hdfs://nn/a.onnx", 1)) {
      assertEquals(fromFile.outputName(), fromBytes.outputName());
      assertEquals(fromFile.classes(), fromBytes.classes());
    }
    QuantbeamException bad = assertThrows(QuantbeamException.class,
        () -> OnnxModelIO.load(new byte[] {1, 2, 3, 4}, "hdfs://nn/noise.onnx"));
    assertTrue(bad.getMessage().contains("hdfs://nn/noise.onnx is not a valid ONNX model"), bad.getMessage());
    Path ext = tmp.resolve("ext/m.onnx");
    OnnxModelIO.save(TINY, ext, 1024);
    QuantbeamException external = assertThrows(QuantbeamException.class,
        () -> OnnxModelIO.load(Files.readAllBytes(ext), "s3://b/m.onnx"));
    assertTrue(external.getMessage().contains("s3://b/m.onnx keeps weights as external data"),
        external.getMessage());
  }

  @Test
  void overwritesAnExistingModel() throws IOException {
    Path a = tmp.resolve("m.onnx");
    Files.writeString(a, "old");
    OnnxModelIO.save(TINY, a);
    assertEquals(TINY, OnnxModelIO.load(a));
  }

  @Test
  void externalDataRoundTripAndRunsInOrt() throws IOException {
    Path out = tmp.resolve("ext.onnx");
    OnnxModelIO.save(TINY, out, 1024);
    Path data = tmp.resolve("ext.onnx.data");
    assertTrue(Files.isRegularFile(data));
    assertEquals(List.of("ext.onnx", "ext.onnx.data"), listNames(tmp));

    ModelProto raw = ModelProto.parseFrom(Files.readAllBytes(out));
    int external = 0;
    for (TensorProto t : raw.getGraph().getInitializerList()) {
      if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
        external++;
        assertFalse(t.hasRawData());
        Map<String, String> kv = kv(t);
        assertEquals("ext.onnx.data", kv.get("location"));
        assertEquals(0, Long.parseLong(kv.get("offset")) % 4096, "aligned offset");
        assertTrue(Long.parseLong(kv.get("length")) > 1024);
      } else {
        assertTrue(t.getSerializedSize() < 1024 + 200);
      }
    }
    assertTrue(external > 5, "large weights moved out: " + external);
    assertTrue(Files.size(out) < OnnxModelIO.toBytes(TINY).length / 2, "model file holds only small tensors: "
        + Files.size(out) + " of " + OnnxModelIO.toBytes(TINY).length);

    ModelProto loaded = OnnxModelIO.load(out);
    assertArrayEquals(OnnxModelIO.toBytes(TINY), OnnxModelIO.toBytes(loaded));

    TestInputs.Batch batch = TestInputs.random(7, 3, 9, 100);
    float[] expected = TestInputs.run(TINY, batch, OptLevel.NO_OPT).get("last_hidden_state").data();
    // ONNX Runtime reads our external data file itself ...
    float[] fromFile = TestInputs.run(out, batch, OptLevel.NO_OPT).get("last_hidden_state").data();
    // ... and runs what load() inlined
    float[] fromLoaded = TestInputs.run(loaded, batch, OptLevel.NO_OPT).get("last_hidden_state").data();
    assertArrayEquals(expected, fromFile);
    assertArrayEquals(expected, fromLoaded);

    // saving the loaded model without a threshold writes it inline again
    Path inline = tmp.resolve("sub").resolve("inline.onnx");
    OnnxModelIO.save(loaded, inline);
    assertArrayEquals(OnnxModelIO.toBytes(TINY), Files.readAllBytes(inline));
  }

  @Test
  void modelsAboveTheSizeLimitGetExternalDataAutomatically() throws IOException {
    Path out = tmp.resolve("big.onnx");
    long size = TINY.getSerializedSize();
    OnnxModelIO.save(TINY, out, -1, size - 1); // pretend the limit is just below this model
    assertTrue(Files.isRegularFile(tmp.resolve("big.onnx.data")));
    assertArrayEquals(OnnxModelIO.toBytes(TINY), OnnxModelIO.toBytes(OnnxModelIO.load(out)));
    // when even the graph without large tensors is over the limit: refused, nothing written
    Path tooBig = tmp.resolve("huge.onnx");
    QuantbeamException e = assertThrows(QuantbeamException.class, () -> OnnxModelIO.save(TINY, tooBig, -1, 1000));
    assertTrue(e.getMessage().contains("2 GB"), e.getMessage());
    assertEquals(List.of("big.onnx", "big.onnx.data"), listNames(tmp));
  }

  @Test
  void externalDataHonoursOffsetAndLengthAndConstantNodes() throws IOException {
    // a hand-made layout: padding before the tensor, a Constant node tensor stored externally
    byte[] payload = new byte[] {0, 0, (byte) 0x80, 0x3f, 0, 0, 0, 0x40}; // 1.0f, 2.0f little endian
    byte[] file = new byte[100 + payload.length + 13];
    System.arraycopy(payload, 0, file, 100, payload.length);
    Files.write(tmp.resolve("weights.bin"), file);
    TensorProto ext = TensorProto.newBuilder().setName("w").setDataType(TensorProto.DataType.FLOAT_VALUE).addDims(2)
        .setDataLocation(TensorProto.DataLocation.EXTERNAL)
        .addExternalData(entry("location", "weights.bin"))
        .addExternalData(entry("offset", "100"))
        .addExternalData(entry("length", "8"))
        .build();
    ModelProto m = modelWith(ext, true);
    Path model = tmp.resolve("m.onnx");
    Files.write(model, m.toByteArray());
    ModelProto loaded = OnnxModelIO.load(model);
    TensorProto init = loaded.getGraph().getInitializer(0);
    TensorProto constant = loaded.getGraph().getNode(0).getAttribute(0).getT();
    for (TensorProto t : List.of(init, constant)) {
      assertEquals(TensorProto.DataLocation.DEFAULT, t.getDataLocation());
      assertEquals(0, t.getExternalDataCount());
      assertArrayEquals(payload, t.getRawData().toByteArray());
    }
  }

  @Test
  void externalDataInASubfolderIsAllowed() throws IOException {
    Files.createDirectories(tmp.resolve("data"));
    Files.write(tmp.resolve("data/w.bin"), new byte[8]);
    Path model = tmp.resolve("m.onnx");
    Files.write(model, modelWith(external("data/w.bin"), false).toByteArray());
    assertEquals(8, OnnxModelIO.load(model).getGraph().getInitializer(0).getRawData().size());
  }

  @Test
  void refusesExternalLocationsOutsideTheModelFolder() throws IOException {
    Path outsideDir = Files.createDirectories(tmp.resolve("outside"));
    Path secret = outsideDir.resolve("secret.bin");
    Files.write(secret, new byte[64]);
    Path modelDir = Files.createDirectories(tmp.resolve("models"));
    Path model = modelDir.resolve("m.onnx");

    Files.write(model, modelWith(external(secret.toAbsolutePath().toString()), false).toByteArray());
    QuantbeamException abs = assertThrows(QuantbeamException.class, () -> OnnxModelIO.load(model));
    assertTrue(abs.getMessage().contains("absolute path"), abs.getMessage());
    assertTrue(abs.getMessage().contains("m.onnx"), abs.getMessage());

    Files.write(model, modelWith(external("../outside/secret.bin"), false).toByteArray());
    QuantbeamException dots = assertThrows(QuantbeamException.class, () -> OnnxModelIO.load(model));
    assertTrue(dots.getMessage().contains("'..'"), dots.getMessage());

    Files.write(model, modelWith(external("sub/../../outside/secret.bin"), false).toByteArray());
    assertThrows(QuantbeamException.class, () -> OnnxModelIO.load(model));

    Files.createSymbolicLink(modelDir.resolve("link.bin"), secret);
    Files.write(model, modelWith(external("link.bin"), false).toByteArray());
    QuantbeamException link = assertThrows(QuantbeamException.class, () -> OnnxModelIO.load(model));
    assertTrue(link.getMessage().contains("symbolic link"), link.getMessage());
    assertTrue(link.getMessage().contains("outside the model's folder"), link.getMessage());

    Files.createSymbolicLink(modelDir.resolve("linkdir"), outsideDir);
    Files.write(model, modelWith(external("linkdir/secret.bin"), false).toByteArray());
    assertThrows(QuantbeamException.class, () -> OnnxModelIO.load(model));
  }

  @Test
  void refusesMissingAndShortExternalFiles() throws IOException {
    Path model = tmp.resolve("m.onnx");
    Files.write(model, modelWith(external("nope.bin"), false).toByteArray());
    QuantbeamException missing = assertThrows(QuantbeamException.class, () -> OnnxModelIO.load(model));
    assertTrue(missing.getMessage().contains("does not exist"), missing.getMessage());
    assertTrue(missing.getMessage().contains("nope.bin"), missing.getMessage());

    Files.write(tmp.resolve("short.bin"), new byte[5]);
    Files.write(model, modelWith(external("short.bin"), false).toByteArray());
    QuantbeamException shortFile = assertThrows(QuantbeamException.class, () -> OnnxModelIO.load(model));
    assertTrue(shortFile.getMessage().contains("too short"), shortFile.getMessage());
  }

  @Test
  void refusesMissingTruncatedAndForeignFiles() throws IOException {
    QuantbeamException missing =
        assertThrows(QuantbeamException.class, () -> OnnxModelIO.load(tmp.resolve("absent.onnx")));
    assertTrue(missing.getMessage().contains("absent.onnx") && missing.getMessage().contains("does not exist"),
        missing.getMessage());

    byte[] bytes = OnnxModelIO.toBytes(TINY);
    Path truncated = tmp.resolve("truncated.onnx");
    Files.write(truncated, Arrays.copyOf(bytes, bytes.length / 2));
    QuantbeamException t = assertThrows(QuantbeamException.class, () -> OnnxModelIO.load(truncated));
    assertTrue(t.getMessage().contains("truncated.onnx"), t.getMessage());
    assertTrue(t.getMessage().contains("truncated or not an ONNX file"), t.getMessage());

    // cut right after the graph: parses, but opset_import (serialized after the graph) is gone
    ModelProto noOpset = TINY.toBuilder().clearOpsetImport().clearMetadataProps().build();
    Path cut = tmp.resolve("cut.onnx");
    Files.write(cut, Arrays.copyOf(bytes, noOpset.getSerializedSize()));
    QuantbeamException c = assertThrows(QuantbeamException.class, () -> OnnxModelIO.load(cut));
    assertTrue(c.getMessage().contains("no opset_import"), c.getMessage());

    byte[] random = new byte[4096];
    new Random(1).nextBytes(random);
    Path noise = tmp.resolve("noise.onnx");
    Files.write(noise, random);
    QuantbeamException n = assertThrows(QuantbeamException.class, () -> OnnxModelIO.load(noise));
    assertTrue(n.getMessage().contains("noise.onnx") && n.getMessage().contains("not a valid ONNX model"),
        n.getMessage());

    Path text = tmp.resolve("readme.onnx");
    Files.writeString(text, "this is not a model\n", StandardCharsets.UTF_8);
    QuantbeamException x = assertThrows(QuantbeamException.class, () -> OnnxModelIO.load(text));
    assertTrue(x.getMessage().contains("readme.onnx"), x.getMessage());

    assertThrows(QuantbeamException.class, () -> OnnxModelIO.load(tmp));
  }

  @Test
  void failedSaveLeavesNothingBehind() throws IOException {
    Path blocker = tmp.resolve("file");
    Files.writeString(blocker, "x");
    assertThrows(QuantbeamException.class, () -> OnnxModelIO.save(TINY, blocker.resolve("m.onnx")));
    assertThrows(QuantbeamException.class, () -> OnnxModelIO.save(TINY, tmp));
    ModelProto withExternal = modelWith(external("w.bin"), false);
    assertThrows(QuantbeamException.class, () -> OnnxModelIO.save(withExternal, tmp.resolve("x.onnx")));
    assertEquals(List.of("file"), listNames(tmp));
  }

  @Test
  void sha256OfKnownContent() throws IOException {
    Path f = tmp.resolve("abc.txt");
    Files.writeString(f, "abc", StandardCharsets.US_ASCII);
    assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", OnnxModelIO.sha256(f));
  }

  @Test
  void sizeEstimateMatchesSerializedSize() {
    long estimate = OnnxModelIO.estimateSerializedSize(TINY);
    assertTrue(estimate >= TINY.getSerializedSize() && estimate < TINY.getSerializedSize() + 64,
        estimate + " vs " + TINY.getSerializedSize());
  }

  // ------------------------------------------------------------------------------------------

  private static List<String> listNames(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  private static Map<String, String> kv(TensorProto t) {
    return t.getExternalDataList().stream()
        .collect(java.util.stream.Collectors.toMap(StringStringEntryProto::getKey, StringStringEntryProto::getValue));
  }

  private static StringStringEntryProto entry(String k, String v) {
    return StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
  }

  private static TensorProto external(String location) {
    return TensorProto.newBuilder().setName("w").setDataType(TensorProto.DataType.FLOAT_VALUE).addDims(2)
        .setDataLocation(TensorProto.DataLocation.EXTERNAL)
        .addExternalData(entry("location", location))
        .addExternalData(entry("length", "8"))
        .build();
  }

  /** y = w + c, with w the given initializer and c a Constant (the same tensor when asked). */
  private static ModelProto modelWith(TensorProto w, boolean constantToo) {
    io.quantbeam.core.testing.GraphBuilder g = new io.quantbeam.core.testing.GraphBuilder("g");
    g.output("y", TensorProto.DataType.FLOAT_VALUE, 2L);
    String c = constantToo
        ? g.constant("c", w.toBuilder().clearName().build())
        : g.constantScalar("c", 1f);
    g.node("Add", "add", List.of("w", c), List.of("y"));
    GraphProto graph = g.graph().addInitializer(w).build();
    return g.model(13).toBuilder().setGraph(graph).build();
  }
}
