package io.quantbeam.pipelines;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * DirectRunner settings for a real run, added to the command line when the run is local and the
 * user did not give them:
 *
 * <ul>
 *   <li>{@code --targetParallelism}: as many workers as the cores can keep busy with ONNX Runtime
 *       sessions side by side (cores / intra-op threads, at least 1), not Beam's default of at
 *       least 3. DirectRunner 2.70 re-submits its scheduling loop to its own worker pool without
 *       pausing, so a worker with no bundle to run spins on watermark bookkeeping and allocates
 *       garbage that grows the heap over a long run.
 *   <li>{@code --enforceImmutability=false}, {@code --enforceEncodability=false}: these checks
 *       encode and compare every element to catch DoFn bugs, which is what the test suite runs
 *       them for (TestPipeline keeps them on). In a run they cost a fifth of the calibration
 *       throughput and about 0.9 GB of peak memory (measured with {@code bench calibration}).
 * </ul>
 */
final class LocalRunnerDefaults {
  private LocalRunnerDefaults() {}

  /** {@code args} plus the local defaults the user did not set; other runners are left alone. */
  static String[] withDefault(String[] args) {
    List<String> given = List.of(args);
    if (!CommandLine.value(given, "runner").orElse("DirectRunner").equals("DirectRunner")) {
      return args;
    }
    int intraOp;
    try {
      intraOp = Integer.parseInt(CommandLine.value(given, "intraOpThreads").orElse("0").trim());
    } catch (NumberFormatException e) {
      return args; // option validation reports it
    }
    Map<String, String> local = new LinkedHashMap<>();
    local.put("targetParallelism",
        String.valueOf(workers(Runtime.getRuntime().availableProcessors(), intraOp)));
    local.put("enforceImmutability", "false");
    local.put("enforceEncodability", "false");
    return CommandLine.withDefaults(given, local).toArray(String[]::new);
  }

  /** Sessions that fit side by side; intra-op 0 (ONNX Runtime's default) uses every core. */
  static int workers(int cores, int intraOpThreads) {
    return intraOpThreads <= 0 ? 1 : Math.max(1, cores / intraOpThreads);
  }
}
