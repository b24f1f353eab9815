package io.quantbeam.core.bench;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import io.quantbeam.core.Quantbeam;
import io.quantbeam.core.graph.GraphView;
import io.quantbeam.core.onnx.OnnxModelIO;
import io.quantbeam.core.quant.QuantConfig;
import io.quantbeam.core.testing.MiniLm;
import io.quantbeam.core.testing.TestData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Experiment: would emitting ORT's MatMulIntegerToFloat with the bias folded in close the gap? */
public final class FusedBiasExperiment {
  public static void main(String[] args) throws Exception {
    List<String> calibration = TestData.texts(TestData.gluePhrases(512));
    Quantbeam.Result r = Quantbeam.quantize(MiniLm.model(), MiniLm.tokenizer(), calibration,
        QuantConfig.defaults(), new Quantbeam.Options(32, 128, 2));
    Path dir = Files.createTempDirectory("qb-fused");
    Quantbeam.write(r, dir);
    ModelProto fused = fuse(r.model());
    OnnxModelIO.save(fused, dir.resolve("fused.onnx"));
    Map<String, Path> models = new LinkedHashMap<>();
    models.put("fp32", MiniLm.model());
    models.put("qdq", dir.resolve(Quantbeam.MODEL_FILE));
    models.put("qdq+fused-bias", dir.resolve("fused.onnx"));
    models.put("ort-dynamic", MiniLm.dynamicReference());
    List<String> dev = TestData.texts(TestData.sst2Dev());
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 3;
    EmbeddingBenchmark.print(EmbeddingBenchmark.run(models, MiniLm.tokenizer(), dev, 2, 32, rounds,
        100, System.out), dev.size(), 32, 100, 2, rounds, System.out);
  }

  static ModelProto fuse(ModelProto m) {
    GraphView v = new GraphView(m.getGraph());
    List<NodeProto> out = new ArrayList<>();
    Set<NodeProto> drop = new HashSet<>();
    Map<NodeProto, NodeProto> replace = new LinkedHashMap<>();
    for (NodeProto n : v.topologicalOrder()) {
      if (!n.getOpType().equals("MatMul")) {
        continue;
      }
      NodeProto dqa = v.producer(n.getInput(0));
      NodeProto dqw = v.producer(n.getInput(1));
      if (dqa == null || dqw == null || !dqa.getOpType().equals("DequantizeLinear")
          || !dqw.getOpType().equals("DequantizeLinear")) {
        continue;
      }
      List<NodeProto> cons = v.consumers(n.getOutput(0));
      if (cons.size() != 1 || !cons.get(0).getOpType().equals("Add")) {
        continue;
      }
      NodeProto add = cons.get(0);
      String bias = add.getInput(0).equals(n.getOutput(0)) ? add.getInput(1) : add.getInput(0);
      if (!v.isInitializer(bias)) {
        continue;
      }
      NodeProto f = NodeProto.newBuilder().setName(n.getName() + "_fused")
          .setOpType("MatMulIntegerToFloat").setDomain("com.microsoft")
          .addInput(dqa.getInput(0)).addInput(dqw.getInput(0))
          .addInput(dqa.getInput(1)).addInput(dqw.getInput(1))
          .addInput(dqa.getInput(2)).addInput(dqw.getInput(2))
          .addInput(bias).addOutput(add.getOutput(0)).build();
      replace.put(n, f);
      drop.add(add);
    }
    for (NodeProto n : m.getGraph().getNodeList()) {
      if (drop.contains(n)) {
        continue;
      }
      out.add(replace.getOrDefault(n, n));
    }
    // Drop DQ nodes nobody reads any more.
    Set<String> read = new HashSet<>();
    out.forEach(n -> read.addAll(n.getInputList()));
    out.removeIf(n -> n.getOpType().equals("DequantizeLinear") && !read.contains(n.getOutput(0)));
    GraphProto g = m.getGraph().toBuilder().clearNode().addAllNode(out).build();
    return m.toBuilder().setGraph(g).addOpsetImport(
        OperatorSetIdProto.newBuilder().setDomain("com.microsoft").setVersion(1)).build();
  }
}
