package io.quantbeam.core.onnx;

import static io.quantbeam.core.testing.GraphBuilder.floatAttr;
import static io.quantbeam.core.testing.GraphBuilder.intAttr;
import static io.quantbeam.core.testing.GraphBuilder.ints;
import static io.quantbeam.core.testing.GraphBuilder.stringAttr;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.testing.GraphBuilder;
import io.quantbeam.core.testing.TestInputs;
import io.quantbeam.core.testing.MiniLm;
import io.quantbeam.core.testing.TinyTransformer;
import java.nio.FloatBuffer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class OpsetUpgradeTest {
  private static final int FLOAT = TensorProto.DataType.FLOAT_VALUE;

  @Test
  void tinyTransformerOpset11To13KeepsOutputs() {
    for (TinyTransformer.Config c : List.of(
        TinyTransformer.Config.defaults(),
        TinyTransformer.Config.defaults().withClassifierHead(2).withMaskValue(-10000f).withSeed(3))) {
      ModelProto m11 = TinyTransformer.build(c);
      ModelProto m13 = OpsetUpgrade.upgrade(m11, 13);
      assertUpgradedTo13(m13);
      TestInputs.Batch batch = TestInputs.random(11, 4, 12, c.vocab());
      compareOutputs(m11, m13, batch, 1e-5);
    }
  }

  @Test
  void miniLmOpset11To13KeepsOutputs() {
    ModelProto m11 = OnnxModelIO.load(MiniLm.model());
    assertEquals(11, OpsetUpgrade.defaultOpset(m11));
    System.out.println("all-MiniLM-L6-v2 op types: " + OpsetUpgrade.opTypes(m11));
    System.out.println("all-MiniLM-L6-v2 attributes: " + attributeSummary(m11));
    ModelProto m13 = OpsetUpgrade.upgrade(m11, 13);
    assertUpgradedTo13(m13);
    TestInputs.Batch batch = TestInputs.random(5, 3, 16, 30522);
    compareOutputs(m11, m13, batch, 1e-5);
  }

  @Test
  void convertsSqueezeSplitDropoutReduceSumAndSoftmaxFamily() {
    GraphBuilder g = new GraphBuilder("ops");
    g.input("x", FLOAT, 2L, 1L, 6L);
    String sq = g.node("Squeeze", "sq_axes", List.of("x"), ints("axes", 1)); // [2,6]
    String sq0 = g.node("Squeeze", "sq_all", List.of("x")); // [2,6]
    g.node("Split", "split", List.of(sq), List.of("s0", "s1"), intAttr("axis", 1), ints("split", 2, 4));
    String dr = g.node("Dropout", "dropout", List.of("s1"), floatAttr("ratio", 0.25f));
    String rs = g.node("ReduceSum", "rsum", List.of(sq0), ints("axes", 1), intAttr("keepdims", 1)); // [2,1]
    String rsAll = g.node("ReduceSum", "rsum_all", List.of(sq0), intAttr("keepdims", 0)); // scalar
    String ls = g.node("LogSoftmax", "logsoftmax", List.of(dr), intAttr("axis", 1)); // rank 2, last axis
    String hm = g.node("Hardmax", "hardmax", List.of("s0")); // default axis 1 on rank 2
    String sm = g.node("Softmax", "softmax", List.of("x"), intAttr("axis", 2)); // rank 3, last axis
    String un = g.node("Unsqueeze", "unsq", List.of(rs), ints("axes", 0, -1)); // [1,2,1,1]
    g.node("Identity", "o1", List.of(ls), List.of("y_logsoftmax"));
    g.node("Identity", "o2", List.of(hm), List.of("y_hardmax"));
    g.node("Identity", "o3", List.of(sm), List.of("y_softmax"));
    g.node("Identity", "o4", List.of(un), List.of("y_unsq"));
    g.node("Identity", "o5", List.of(rsAll), List.of("y_rsum_all"));
    g.node("Identity", "o6", List.of(sq0), List.of("y_sq_all"));
    g.output("y_logsoftmax", FLOAT, 2L, 4L).output("y_hardmax", FLOAT, 2L, 2L).output("y_softmax", FLOAT, 2L, 1L, 6L)
        .output("y_unsq", FLOAT, 1L, 2L, 1L, 1L).output("y_rsum_all", FLOAT).output("y_sq_all", FLOAT, 2L, 6L);
    ModelProto m11 = g.model(11);

    ModelProto m12 = OpsetUpgrade.upgrade(m11, 12);
    assertEquals(12, OpsetUpgrade.defaultOpset(m12));
    NodeProto drop12 = node(m12, "dropout");
    assertEquals(2, drop12.getInputCount());
    assertEquals(0, drop12.getAttributeCount());
    assertTrue(hasAttribute(node(m12, "unsq"), "axes"), "axes stay attributes at opset 12");

    ModelProto m13 = OpsetUpgrade.upgrade(m11, 13);
    assertUpgradedTo13(m13);
    assertEquals(1, node(m13, "sq_all").getInputCount(), "Squeeze without axes stays without");
    assertEquals(1, node(m13, "rsum_all").getInputCount(), "ReduceSum without axes stays without");
    assertEquals(2, node(m13, "split").getInputCount());
    assertFalse(hasAttribute(node(m13, "split"), "split"));
    assertEquals(1L, intAttribute(node(m13, "hardmax"), "axis"), "implicit opset-11 axis written explicitly");
    assertEquals(drop12, node(OpsetUpgrade.upgrade(m12, 13), "dropout"), "Dropout-12 is already in opset-13 form");

    float[] x = new float[12];
    Random r = new Random(3);
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) r.nextGaussian() * 3;
    }
    Map<String, float[]> a = runFloat(m11, "x", x, new long[] {2, 1, 6});
    Map<String, float[]> b = runFloat(m13, "x", x, new long[] {2, 1, 6});
    Map<String, float[]> c = runFloat(OpsetUpgrade.upgrade(m12, 13), "x", x, new long[] {2, 1, 6});
    assertEquals(6, a.size());
    for (String k : a.keySet()) {
      assertTrue(TestInputs.maxAbsDiff(a.get(k), b.get(k)) <= 1e-6, k);
      assertTrue(TestInputs.maxAbsDiff(a.get(k), c.get(k)) <= 1e-6, k);
    }
  }

  @Test
  void sharesAxesInitializersAndAvoidsNameClashes() {
    GraphBuilder g = new GraphBuilder("names");
    g.input("x", FLOAT, 3L);
    g.floatInit("opset_upgrade/axes_0", new float[] {1f}, 1);
    String a = g.node("Unsqueeze", "u1", List.of("x"), ints("axes", 0));
    String b = g.node("Unsqueeze", "u2", List.of("x"), ints("axes", 0));
    g.node("Add", "add", List.of(a, b), List.of("t"));
    g.node("Add", "add2", List.of("t", "opset_upgrade/axes_0"), List.of("y"));
    g.output("y", FLOAT, 1L, 3L);
    ModelProto m13 = OpsetUpgrade.upgrade(g.model(11), 13);
    String axes = node(m13, "u1").getInput(1);
    assertEquals(axes, node(m13, "u2").getInput(1));
    assertEquals("opset_upgrade/axes_0__1", axes);
    assertEquals(2, m13.getGraph().getInitializerCount());
    float[] y = runFloat(m13, "x", new float[] {1, 2, 3}, new long[] {3}).get("y");
    assertEquals(List.of(3f, 5f, 7f), List.of(y[0], y[1], y[2]));
  }

  @Test
  void refusesSoftmaxOnANonLastAxis() {
    GraphBuilder g = new GraphBuilder("bad");
    g.input("x", FLOAT, "b", 4L, 5L);
    g.node("Softmax", "/attn/Softmax", List.of("x"), List.of("y"), intAttr("axis", 1));
    g.output("y", FLOAT, "b", 4L, 5L);
    QuantbeamException e = assertThrows(QuantbeamException.class, () -> OpsetUpgrade.upgrade(g.model(11), 13));
    assertTrue(e.getMessage().contains("'/attn/Softmax'"), e.getMessage());
    assertTrue(e.getMessage().contains("not the last axis"), e.getMessage());
    assertTrue(e.getMessage().contains("re-export"), e.getMessage());

    // implicit axis (1) on a rank-3 input is refused too
    GraphBuilder g2 = new GraphBuilder("bad2");
    g2.input("x", FLOAT, "b", 4L, 5L);
    g2.node("LogSoftmax", "ls", List.of("x"), List.of("y"));
    g2.output("y", FLOAT, "b", 4L, 5L);
    assertThrows(QuantbeamException.class, () -> OpsetUpgrade.upgrade(g2.model(12), 13));

    // unknown rank and axis != -1: refused, with a hint
    GraphBuilder g3 = new GraphBuilder("unknown");
    g3.inputNoShape("x", FLOAT);
    g3.node("Softmax", "sm", List.of("x"), List.of("y"), intAttr("axis", 2));
    g3.outputNoShape("y", FLOAT);
    QuantbeamException e3 = assertThrows(QuantbeamException.class, () -> OpsetUpgrade.upgrade(g3.model(11), 13));
    assertTrue(e3.getMessage().contains("unknown rank"), e3.getMessage());

    // the same node with axis -1 and unknown rank is fine
    GraphBuilder g4 = new GraphBuilder("ok");
    g4.inputNoShape("x", FLOAT);
    g4.node("Softmax", "sm", List.of("x"), List.of("y"), intAttr("axis", -1));
    g4.outputNoShape("y", FLOAT);
    assertEquals(13, OpsetUpgrade.defaultOpset(OpsetUpgrade.upgrade(g4.model(11), 13)));
  }

  @Test
  void refusesUnknownOpsListingAll() {
    GraphBuilder g = new GraphBuilder("bad");
    g.input("x", FLOAT, 1L, 1L, 2L, 2L);
    g.floatInit("scales", new float[] {1, 1, 2, 2}, 4);
    g.node("Upsample", "up", List.of("x", "scales"), List.of("u"));
    g.node("Scatter", "sc", List.of("u"), List.of("v"));
    g.node("Resize", "rs", List.of("v", "", "scales"), List.of("y"), stringAttr("mode", "nearest"));
    g.output("y", FLOAT, 1L, 1L, 8L, 8L);
    QuantbeamException e = assertThrows(QuantbeamException.class, () -> OpsetUpgrade.upgrade(g.model(11), 13));
    assertTrue(e.getMessage().contains("Upsample") && e.getMessage().contains("'up'"), e.getMessage());
    assertTrue(e.getMessage().contains("Scatter") && e.getMessage().contains("'sc'"), e.getMessage());
    assertFalse(e.getMessage().contains("'rs'"), "Resize 11 -> 13 is compatible: " + e.getMessage());
  }

  @Test
  void noOpAtOrAboveTargetAndRefusesUnsupportedVersions() {
    ModelProto m13 = TinyTransformer.build(TinyTransformer.Config.defaults().withOpset(13));
    assertSame(m13, OpsetUpgrade.upgrade(m13, 13));
    assertSame(m13, OpsetUpgrade.upgrade(m13, 12));
    ModelProto m11 = TinyTransformer.build();
    QuantbeamException tooNew = assertThrows(QuantbeamException.class, () -> OpsetUpgrade.upgrade(m11, 14));
    assertTrue(tooNew.getMessage().contains("14"), tooNew.getMessage());
    ModelProto m10 = m11.toBuilder().setOpsetImport(0, m11.getOpsetImport(0).toBuilder().setVersion(10)).build();
    QuantbeamException tooOld = assertThrows(QuantbeamException.class, () -> OpsetUpgrade.upgrade(m10, 13));
    assertTrue(tooOld.getMessage().contains("opset 10"), tooOld.getMessage());
    ModelProto none = m11.toBuilder().clearOpsetImport().build();
    assertThrows(QuantbeamException.class, () -> OpsetUpgrade.upgrade(none, 13));
  }

  @Test
  void convertsNodesInsideSubgraphs() {
    GraphBuilder then = new GraphBuilder("then");
    then.node("Unsqueeze", "then_unsq", List.of("x"), List.of("t_out"), ints("axes", 0));
    then.output("t_out", FLOAT, 1L, 3L);
    GraphBuilder other = new GraphBuilder("else");
    other.node("Unsqueeze", "else_unsq", List.of("x"), List.of("e_out"), ints("axes", 0));
    other.output("e_out", FLOAT, 1L, 3L);
    GraphBuilder g = new GraphBuilder("main");
    g.input("x", FLOAT, 3L);
    g.input("c", TensorProto.DataType.BOOL_VALUE);
    g.graph().addNode(NodeProto.newBuilder().setOpType("If").setName("if").addInput("c").addOutput("y")
        .addAttribute(AttributeProto.newBuilder().setName("then_branch").setType(AttributeProto.AttributeType.GRAPH)
            .setG(then.graph()))
        .addAttribute(AttributeProto.newBuilder().setName("else_branch").setType(AttributeProto.AttributeType.GRAPH)
            .setG(other.graph())));
    g.output("y", FLOAT, 1L, 3L);
    ModelProto m13 = OpsetUpgrade.upgrade(g.model(11), 13);
    GraphProto thenG = node(m13, "if").getAttribute(0).getG();
    assertEquals(2, thenG.getNode(0).getInputCount());
    assertEquals(0, thenG.getNode(0).getAttributeCount());
    try (OrtSession s = TestInputs.session(m13, OptLevel.NO_OPT);
        OnnxTensor x = OnnxTensor.createTensor(TestInputs.env(), new float[] {1, 2, 3});
        OnnxTensor c = OnnxTensor.createTensor(TestInputs.env(), true);
        OrtSession.Result r = s.run(Map.of("x", x, "c", c))) {
      assertEquals(List.of(1L, 3L), List.of(((OnnxTensor) r.get(0)).getInfo().getShape()[0],
          ((OnnxTensor) r.get(0)).getInfo().getShape()[1]));
    } catch (OrtException e) {
      throw new AssertionError(e);
    }
  }

  // ------------------------------------------------------------------------------------------

  private static void assertUpgradedTo13(ModelProto m) {
    assertEquals(13, OpsetUpgrade.defaultOpset(m));
    assertTrue(m.getIrVersion() >= 7);
    forEachNode(m.getGraph(), n -> {
      if (Set.of("Unsqueeze", "Squeeze", "ReduceSum").contains(n.getOpType())) {
        assertFalse(hasAttribute(n, "axes"), n.getName() + " still has an axes attribute");
      }
      if (n.getOpType().equals("Unsqueeze")) {
        assertEquals(2, n.getInputCount(), n.getName());
      }
      if (n.getOpType().equals("Split")) {
        assertFalse(hasAttribute(n, "split"), n.getName());
      }
      if (n.getOpType().equals("Dropout")) {
        assertFalse(hasAttribute(n, "ratio"), n.getName());
      }
    });
  }

  private static void compareOutputs(ModelProto before, ModelProto after, TestInputs.Batch batch, double tol) {
    for (OptLevel level : List.of(OptLevel.NO_OPT, OptLevel.ALL_OPT)) {
      Map<String, TestInputs.Output> a = TestInputs.run(before, batch, level);
      Map<String, TestInputs.Output> b = TestInputs.run(after, batch, level);
      assertEquals(a.keySet(), b.keySet());
      for (String k : a.keySet()) {
        assertTrue(TestInputs.allFinite(a.get(k).data()), k);
        double diff = TestInputs.maxAbsDiff(a.get(k).data(), b.get(k).data());
        System.out.println("output " + k + " at " + level + ": max abs diff after upgrade " + diff);
        assertTrue(diff <= tol, k + " differs by " + diff + " at " + level);
      }
    }
  }

  private static Map<String, float[]> runFloat(ModelProto m, String input, float[] x, long[] shape) {
    try (OrtSession s = TestInputs.session(m, OptLevel.NO_OPT);
        OnnxTensor t = OnnxTensor.createTensor(TestInputs.env(), FloatBuffer.wrap(x), shape);
        OrtSession.Result r = s.run(Map.of(input, t))) {
      Map<String, float[]> out = new LinkedHashMap<>();
      for (Map.Entry<String, OnnxValue> e : r) {
        FloatBuffer fb = ((OnnxTensor) e.getValue()).getFloatBuffer();
        float[] d = new float[fb.remaining()];
        fb.get(d);
        out.put(e.getKey(), d);
      }
      return out;
    } catch (OrtException e) {
      throw new AssertionError(e);
    }
  }

  private static NodeProto node(ModelProto m, String name) {
    return m.getGraph().getNodeList().stream().filter(n -> n.getName().equals(name)).findFirst().orElseThrow();
  }

  private static boolean hasAttribute(NodeProto n, String name) {
    return n.getAttributeList().stream().anyMatch(a -> a.getName().equals(name));
  }

  private static long intAttribute(NodeProto n, String name) {
    return n.getAttributeList().stream().filter(a -> a.getName().equals(name)).findFirst().orElseThrow().getI();
  }

  private static void forEachNode(GraphProto g, java.util.function.Consumer<NodeProto> f) {
    for (NodeProto n : g.getNodeList()) {
      f.accept(n);
      for (AttributeProto a : n.getAttributeList()) {
        if (a.hasG()) {
          forEachNode(a.getG(), f);
        }
        a.getGraphsList().forEach(sub -> forEachNode(sub, f));
      }
    }
  }

  private static Map<String, Set<String>> attributeSummary(ModelProto m) {
    Map<String, Set<String>> out = new TreeMap<>();
    forEachNode(m.getGraph(), n -> {
      Set<String> s = out.computeIfAbsent(n.getOpType(), k -> new TreeSet<>());
      for (AttributeProto a : n.getAttributeList()) {
        s.add(a.getName() + (a.getType() == AttributeProto.AttributeType.INTS ? "=" + a.getIntsList()
            : a.getType() == AttributeProto.AttributeType.INT ? "=" + a.getI() : ""));
      }
    });
    return out;
  }
}
