package io.quantbeam.pipelines;

import io.quantbeam.core.QuantbeamException;
import java.util.Arrays;

/** {@code quantbeam <command> [--option=value ...]}: dispatches to a pipeline. */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    if (args.length == 0 || args[0].equals("help") || args[0].equals("--help")) {
      System.out.println("usage: quantbeam <command> [--option=value ...]\n"
          + "commands:\n"
          + "  demo       the whole mission on the bundled MiniLM SST-2 classifier and data:\n"
          + "             calibrate, quantize, validate, sweep, select, report (target/demo)\n"
          + "  quantize   calibrate on Parquet texts with Beam and write model.int8.onnx,\n"
          + "             calibration.qbct and report.json (--help=QuantizeOptions for options);\n"
          + "             with --validationData=LABELED.parquet --labelColumn=label also validates,\n"
          + "             sweeps exclusion sets (--sweep, --excludeSets), selects against\n"
          + "             --maxAccuracyDrop (exit code 3 when nothing passes) and writes report.html\n"
          + "  drift      check a production sample against the registry's serving model; on drift\n"
          + "             recalibrate, judge, and promote only a better model\n"
          + "             (--help=DriftOptions for options)\n"
          + "  registry register|list|rollback   the versioned model registry by hand\n"
          + "  bench      SST-2 dev: FP32 vs the demo's INT8 model vs ONNX Runtime's dynamic\n"
          + "             quantization (same head), accuracy, latency, sentences/s, size\n"
          + "  bench calibration   pipeline examples/s vs plain FP32 inference, and peak RSS\n"
          + "  bench memory        peak RSS of quantize at several corpus sizes (--sizes=2000,20000)\n"
          + "Beam options (--runner, --targetParallelism, ...) pass through; DirectRunner is the"
          + " default.");
      return;
    }
    String[] rest = Arrays.copyOfRange(args, 1, args.length);
    try {
      switch (args[0]) {
        case "quantize" -> QuantizePipeline.main(rest);
        case "drift" -> DriftPipeline.main(rest);
        case "registry" -> RegistryCommand.main(rest);
        case "demo" -> DemoCommand.main(rest);
        case "bench" -> {
          String what = rest.length == 0 || rest[0].startsWith("--") ? "sst2" : rest[0];
          if (rest.length > 0 && rest[0].startsWith("--")) {
            rest = Arrays.copyOf(rest, rest.length + 1);
            System.arraycopy(rest, 0, rest, 1, rest.length - 1);
            rest[0] = what;
          }
          String[] benchArgs = rest.length == 0 ? rest : Arrays.copyOfRange(rest, 1, rest.length);
          switch (what) {
            case "sst2" -> Sst2Benchmark.main(benchArgs);
            case "calibration" -> CalibrationBenchmark.main(benchArgs);
            case "memory" -> MemoryBenchmark.main(benchArgs);
            default -> {
              System.err.println("usage: quantbeam bench [sst2] [--int8=target/demo/model.int8.onnx"
                  + " --intraOpThreads=2 --rounds=5 --singles=64 --output=target/bench]\n"
                  + "       quantbeam bench calibration|memory --model=..."
                  + " --tokenizer=... --calibrationData=FILE.parquet --output=..."
                  + " [--maxExamples=5000 | --sizes=2000,20000]");
              System.exit(2);
            }
          }
        }
        default -> {
          System.err.println("unknown command '" + args[0] + "'; try: quantbeam help");
          System.exit(2);
        }
      }
    } catch (QuantbeamException e) {
      System.err.println("error: " + e.getMessage());
      System.exit(1);
    }
  }
}
