package io.quantbeam.core.calib;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import io.quantbeam.core.quant.QdqQuantizer;
import io.quantbeam.core.quant.QuantConfig;
import io.quantbeam.core.testing.TestInputs;
import io.quantbeam.core.testing.TinyTransformer;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class CalibratorTest {
  private static final ModelProto MODEL = QdqQuantizer.prepare(TinyTransformer.build());
  private static final List<String> TENSORS =
      QdqQuantizer.tensorsToCalibrate(MODEL, QuantConfig.defaults());

  @Test
  void theCalibrationModelStopsAtTheLastCalibratedTensor() {
    ModelProto exposed = Calibrator.exposeTensors(MODEL, TENSORS);
    Set<String> outputs = exposed.getGraph().getOutputList().stream()
        .map(o -> o.getName()).collect(Collectors.toSet());
    assertEquals(Set.copyOf(TENSORS), outputs);
    Set<String> nodes = exposed.getGraph().getNodeList().stream().map(NodeProto::getName)
        .collect(Collectors.toSet());
    // the last layer's FFN output projection and LayerNorm only feed the model's output
    assertTrue(nodes.contains("/encoder/layer.1/intermediate/dense/MatMul"));
    assertFalse(nodes.contains("/encoder/layer.1/output/dense/MatMul"));
    assertFalse(nodes.contains("/encoder/layer.1/output/LayerNorm/Add_1"));
    assertTrue(exposed.getGraph().getNodeCount() < MODEL.getGraph().getNodeCount());
    Set<String> inits = exposed.getGraph().getInitializerList().stream().map(i -> i.getName())
        .collect(Collectors.toSet());
    for (NodeProto n : MODEL.getGraph().getNodeList()) {
      if (n.getName().equals("/encoder/layer.1/output/dense/MatMul")) {
        assertFalse(inits.contains(n.getInput(1)), "the dropped node's weight is dropped too");
      }
    }
  }

  @Test
  void theReducedModelGivesTheSameValuesAsTheWholeOne() {
    ModelProto.Builder whole = MODEL.toBuilder();
    for (String t : TENSORS) {
      whole.getGraphBuilder().addOutput(ValueInfoProto.newBuilder().setName(t).setType(
          TypeProto.newBuilder().setTensorType(
              TypeProto.Tensor.newBuilder().setElemType(DataType.FLOAT_VALUE))));
    }
    TestInputs.Batch batch = TestInputs.random(3, 2, 9, 100);
    Map<String, TestInputs.Output> a = TestInputs.run(whole.build(), batch, OptLevel.ALL_OPT);
    Map<String, TestInputs.Output> b =
        TestInputs.run(Calibrator.exposeTensors(MODEL, TENSORS), batch, OptLevel.ALL_OPT);
    for (String t : TENSORS) {
      assertArrayEquals(a.get(t).data(), b.get(t).data(), 0f, t);
    }
  }
}
