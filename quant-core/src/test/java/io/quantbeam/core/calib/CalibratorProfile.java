package io.quantbeam.core.calib;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;


import io.quantbeam.core.onnx.OnnxModelIO;
import io.quantbeam.core.quant.QdqQuantizer;
import io.quantbeam.core.quant.QuantConfig;
import io.quantbeam.core.runtime.OrtSessions;
import io.quantbeam.core.stats.TensorStats;
import io.quantbeam.core.testing.MiniLm;
import io.quantbeam.core.testing.TestData;
import io.quantbeam.core.text.EncodedBatch;
import io.quantbeam.core.text.TextTokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Where calibration time goes on MiniLM: plain run, run with exposed outputs, stats. Arguments:
 * intra-op threads (2), phrases (1000); {@code -DbatchSize} (32).
 */
public final class CalibratorProfile {
  static OrtSession.SessionOptions opts(int threads) throws Exception {
    OrtSession.SessionOptions o = new OrtSession.SessionOptions();
    o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
    o.setIntraOpNumThreads(threads);
    return o;
  }

  static long cpuTime() {
    return ((com.sun.management.OperatingSystemMXBean)
        java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }

  public static void main(String[] args) throws Exception {
    int threads = args.length > 0 ? Integer.parseInt(args[0]) : 2;
    int n = args.length > 1 ? Integer.parseInt(args[1]) : 1000;
    List<String> texts = TestData.texts(TestData.gluePhrases(n));
    ModelProto prepared = QdqQuantizer.prepare(OnnxModelIO.load(MiniLm.model()));
    List<String> tensors = QdqQuantizer.tensorsToCalibrate(prepared, QuantConfig.defaults());
    System.out.println(tensors.size() + " tensors");
    List<EncodedBatch> batches = new ArrayList<>();
    try (TextTokenizer tok = TextTokenizer.fromFile(MiniLm.tokenizer(), 128)) {
      // -DbatchSize=8: both passes on smaller batches (less padding, activations in cache)
      for (List<String> b : CalibrationBatches.plan(texts, Integer.getInteger("batchSize", 32),
          16)) {
        batches.add(tok.encode(b));
      }
    }
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    try (OrtSession plain = OrtSessions.open(MiniLm.model(), threads);
        Calibrator cal = new Calibrator(prepared, tensors, threads);
        OrtSession aug = env.createSession(Calibrator.exposeTensors(prepared, tensors).toByteArray(), opts(threads))) {
      for (int round = 0; round < 3; round++) {
        long t0 = System.nanoTime();
        for (EncodedBatch b : batches) {
          Map<String, OnnxTensor> in = b.toOnnxInputs(env, plain.getInputNames());
          try (OrtSession.Result r = plain.run(in)) {
            r.get(0);
          }
          in.values().forEach(OnnxTensor::close);
        }
        long t1 = System.nanoTime();
        Map<String, TensorStats> stats = cal.newStatistics();
        for (EncodedBatch b : batches) {
          cal.observe(b, stats);
        }
        long t2 = System.nanoTime();
        java.util.Set<String> outs = new java.util.LinkedHashSet<>(tensors);
        for (EncodedBatch b : batches) {
          Map<String, OnnxTensor> in = b.toOnnxInputs(env, plain.getInputNames());
          try (OrtSession.Result r = aug.run(in, outs)) {
            r.get(0);
          }
          in.values().forEach(OnnxTensor::close);
        }
        long t3 = System.nanoTime();
        long sink = 0;
        for (EncodedBatch b : batches) {
          Map<String, OnnxTensor> in = b.toOnnxInputs(env, plain.getInputNames());
          try (OrtSession.Result r = aug.run(in, outs)) {
            for (String t : tensors) {
              sink += ((OnnxTensor) r.get(t).get()).getFloatBuffer().capacity();
            }
          }
          in.values().forEach(OnnxTensor::close);
        }
        long t4 = System.nanoTime();
        System.out.printf("  + getFloatBuffer copies: %.0f ex/s (%d)%n", n / ((t4 - t3) / 1e9), sink);
        System.out.printf("round %d: plain %.0f ex/s, calibrator %.0f ex/s (ratio %.2f), augmented run only %.0f ex/s%n", round,
            n / ((t1 - t0) / 1e9), n / ((t2 - t1) / 1e9), (t1 - t0) / (double) (t2 - t1), n / ((t3 - t2) / 1e9));
      }
    }
  }
}
