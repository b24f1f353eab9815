package io.quantbeam.core.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import io.quantbeam.core.Quantbeam;
import io.quantbeam.core.onnx.OnnxModelIO;
import io.quantbeam.core.quant.NodeDecision;
import io.quantbeam.core.quant.QdqQuantizer;
import io.quantbeam.core.quant.QuantConfig;
import io.quantbeam.core.runtime.EmbeddingAgreement;
import io.quantbeam.core.runtime.OrtSessions;
import io.quantbeam.core.runtime.SentenceEmbedder;
import io.quantbeam.core.testing.MiniLm;
import io.quantbeam.core.testing.TestData;
import io.quantbeam.core.text.EncodedBatch;
import io.quantbeam.core.text.TextTokenizer;
import io.quantbeam.core.validate.LatencyBench;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Target onnxruntime-cpu against FP32, ONNX Runtime's dynamic model and the portable QDQ model,
 * in one process: both INT8 models from one calibration table (512 GLUE phrases), embedding
 * agreement with FP32 on the 872 SST-2 dev sentences, size, then call by call (every input on every
 * model back to back, the order rotating) at batch 32 and batch 1 for each thread count, with the
 * median of the per-input time ratios and its distribution-free 95% interval. Sessions run with
 * the intra-op pool's spinning off (see {@link #open}).
 *
 * <p>Args: [model tokenizer dynamicReference [passes [threads,...] [singles]]].
 */
public final class TargetBenchmark {
  public static void main(String[] args) throws Exception {
    Path model = args.length > 0 ? Path.of(args[0]) : MiniLm.model();
    Path tokenizer = args.length > 1 ? Path.of(args[1]) : MiniLm.tokenizer();
    Path dynamic = args.length > 2 ? Path.of(args[2]) : MiniLm.dynamicReference();
    int passes = args.length > 3 ? Integer.parseInt(args[3]) : 2;
    String[] threadList = (args.length > 4 ? args[4] : "1,2").split(",");
    int singleCount = args.length > 5 ? Integer.parseInt(args[5]) : 300;

    List<String> calibration = TestData.texts(TestData.gluePhrases(512));
    List<String> dev = TestData.texts(TestData.sst2Dev());
    Quantbeam.Result portable = Quantbeam.quantize(model, tokenizer, calibration,
        QuantConfig.defaults(), new Quantbeam.Options(32, 128, 2));
    ModelProto prepared = QdqQuantizer.prepare(OnnxModelIO.load(model));
    QuantConfig cpuConfig = QuantConfig.defaults().withTarget(QuantConfig.Target.ONNXRUNTIME_CPU);
    QdqQuantizer.Result cpu = QdqQuantizer.quantize(prepared, portable.table(), cpuConfig);
    // the same target without the SQNR floor: every projection integer, the smallest model
    QdqQuantizer.Result cpuNoFloor = QdqQuantizer.quantize(prepared, portable.table(),
        cpuConfig.withMinActivationSqnrDb(0));
    for (NodeDecision d : cpu.decisions()) {
      if (d.opType().equals("attention block") || !d.quantized()) {
        System.out.println("cpu decision: " + d);
      }
    }
    System.out.println("cpu ops: " + ops(cpu.model()));
    Path dir = Files.createTempDirectory("qb-target");
    Path portablePath = dir.resolve("portable.onnx");
    Path cpuPath = dir.resolve("onnxruntime-cpu.onnx");
    OnnxModelIO.save(portable.model(), portablePath);
    OnnxModelIO.save(cpu.model(), cpuPath);

    Map<String, Path> models = new LinkedHashMap<>();
    models.put("fp32", model);
    models.put("dynamic", dynamic);
    models.put("portable", portablePath);
    Path cpuNoFloorPath = dir.resolve("onnxruntime-cpu-nofloor.onnx");
    OnnxModelIO.save(cpuNoFloor.model(), cpuNoFloorPath);
    models.put("cpu-nofloor", cpuNoFloorPath);
    models.put("cpu", cpuPath);

    float[][] reference = null;
    for (Map.Entry<String, Path> m : models.entrySet()) {
      try (SentenceEmbedder e = new SentenceEmbedder(OrtSessions.open(m.getValue(), 2),
          TextTokenizer.fromFile(tokenizer, 128))) {
        float[][] v = e.embed(dev, 32);
        reference = reference == null ? v : reference;
        System.out.printf(Locale.ROOT, "%-9s %6.2f MB %s%n", m.getKey(),
            Files.size(m.getValue()) / 1e6, EmbeddingAgreement.compute(reference, v, 10));
      }
    }

    List<EncodedBatch> batches = new ArrayList<>();
    List<EncodedBatch> singles = new ArrayList<>();
    try (TextTokenizer tok = TextTokenizer.fromFile(tokenizer, 128)) {
      for (int from = 0; from < dev.size(); from += 32) {
        batches.add(tok.encode(new ArrayList<>(dev.subList(from, Math.min(dev.size(), from + 32)))));
      }
      for (String s : dev.subList(0, Math.min(singleCount, dev.size()))) {
        singles.add(tok.encode(List.of(s)));
      }
    }
    for (String t : threadList) {
      int threads = Integer.parseInt(t.trim());
      Map<String, OrtSession> runners = new LinkedHashMap<>();
      try {
        for (Map.Entry<String, Path> m : models.entrySet()) {
          runners.put(m.getKey(), open(m.getValue(), threads));
        }
        System.out.printf(Locale.ROOT, "load before %d threads: %s", threads,
            Files.readString(Path.of("/proc/loadavg")));
        report("batch 32", threads, timeCallByCall(runners, batches, passes), dev.size());
        report("batch 1", threads, timeCallByCall(runners, singles, passes), singles.size());
        System.out.printf(Locale.ROOT, "load after: %s", Files.readString(Path.of("/proc/loadavg")));
      } finally {
        for (OrtSession session : runners.values()) {
          session.close();
        }
      }
    }
  }

  /**
   * OrtSessions' settings (all optimizations, sequential, one inter-op thread), with the intra-op
   * pool's spinning off: with several threads, a session's workers otherwise spin on after its
   * call and take the cores of the next model's call.
   */
  static OrtSession open(Path model, int threads) throws OrtException {
    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
      options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
      options.setInterOpNumThreads(1);
      options.setIntraOpNumThreads(threads);
      options.addConfigEntry("session.intra_op.allow_spinning", "0");
      return OrtEnvironment.getEnvironment().createSession(model.toString(), options);
    }
  }

  static Map<String, Long> ops(ModelProto m) {
    Map<String, Long> c = new TreeMap<>();
    for (NodeProto n : m.getGraph().getNodeList()) {
      c.merge((n.getDomain().isEmpty() ? "" : n.getDomain() + ":") + n.getOpType(), 1L, Long::sum);
    }
    return c;
  }

  /** Each model's total and sentences/s; each target (cpu*) against every other model. */
  private static void report(String what, int threads, Map<String, List<Double>> times,
      int sentences) {
    System.out.printf(Locale.ROOT, "%s, %d intra-op threads, %d calls per model:%n", what,
        threads, times.get("cpu").size());
    int passes = times.get("cpu").size() / (what.equals("batch 1") ? sentences
        : (int) Math.ceil(sentences / 32.0));
    for (Map.Entry<String, List<Double>> e : times.entrySet()) {
      double total = e.getValue().stream().mapToDouble(Double::doubleValue).sum();
      System.out.printf(Locale.ROOT, "  %-11s total %9.1f ms, %7.1f sentences/s%n", e.getKey(),
          total, sentences * passes / (total / 1000));
    }
    for (String target : times.keySet()) {
      if (!target.startsWith("cpu")) {
        continue;
      }
      List<Double> mine = times.get(target);
      double mineTotal = mine.stream().mapToDouble(Double::doubleValue).sum();
      for (Map.Entry<String, List<Double>> e : times.entrySet()) {
        if (e.getKey().equals(target)) {
          continue;
        }
        List<Double> speedups = new ArrayList<>();
        for (int i = 0; i < mine.size(); i++) {
          speedups.add(e.getValue().get(i) / mine.get(i));
        }
        double[] ci = LatencyBench.medianInterval(speedups, 0.95);
        double total = e.getValue().stream().mapToDouble(Double::doubleValue).sum();
        System.out.printf(Locale.ROOT, "  %s speedup vs %s (its time / %s's, per call): median"
            + " %.3f, %.1f%% interval %.3f to %.3f; ratio of totals %.3f%n", target, e.getKey(),
            target, LatencyBench.percentile(speedups, 50), 100 * ci[2], ci[0], ci[1],
            total / mineTotal);
      }
    }
  }

  /** One warm-up pass, then {@code passes}; every input on every model, the order rotating. */
  private static Map<String, List<Double>> timeCallByCall(Map<String, OrtSession> runners,
      List<EncodedBatch> inputs, int passes) throws OrtException {
    List<String> names = new ArrayList<>(runners.keySet());
    Map<String, List<Double>> times = new LinkedHashMap<>();
    names.forEach(n -> times.put(n, new ArrayList<>()));
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    for (int pass = -1; pass < passes; pass++) {
      for (int i = 0; i < inputs.size(); i++) {
        for (int j = 0; j < names.size(); j++) {
          String n = names.get((i + j) % names.size());
          OrtSession runner = runners.get(n);
          Map<String, OnnxTensor> in = inputs.get(i).toOnnxInputs(env, runner.getInputNames());
          try {
            long t0 = System.nanoTime();
            runner.run(in).close();
            double ms = (System.nanoTime() - t0) / 1e6;
            if (pass >= 0) {
              times.get(n).add(ms);
            }
          } finally {
            in.values().forEach(OnnxTensor::close);
          }
        }
      }
    }
    return times;
  }
}
