package io.quantbeam.pipelines;

import java.util.Arrays;

/**
 * DirectRunner's worker count when the user names none: as many as the cores can keep busy with
 * ONNX Runtime sessions side by side (cores / intra-op threads, at least 1).
 *
 * <p>Why not Beam's default (at least 3): DirectRunner 2.70 re-submits its scheduling loop to its
 * own worker pool without pausing, so every worker that is not running a bundle spins on the
 * watermark bookkeeping. On a 2-core machine with one calibration session using both cores, that
 * spinning thread took a core's worth of CPU and allocated about 1 GB/s of garbage, which grew the
 * heap (and peak RSS) with the length of the run. With no idle worker the loop waits in the
 * pool's queue between bundles instead.
 */
final class LocalParallelism {
  private LocalParallelism() {}

  /** {@code args} plus {@code --targetParallelism=N} when the run is local and none is given. */
  static String[] withDefault(String[] args) {
    int intraOp = 0;
    for (String a : args) {
      if (a.startsWith("--targetParallelism=")) {
        return args;
      }
      if (a.startsWith("--runner=") && !a.equals("--runner=DirectRunner")) {
        return args;
      }
      if (a.startsWith("--intraOpThreads=")) {
        try {
          intraOp = Integer.parseInt(a.substring("--intraOpThreads=".length()).trim());
        } catch (NumberFormatException e) {
          return args; // option validation reports it
        }
      }
    }
    String[] out = Arrays.copyOf(args, args.length + 1);
    out[args.length] = "--targetParallelism="
        + workers(Runtime.getRuntime().availableProcessors(), intraOp);
    return out;
  }

  /** Sessions that fit side by side; intra-op 0 (ONNX Runtime's default) uses every core. */
  static int workers(int cores, int intraOpThreads) {
    return intraOpThreads <= 0 ? 1 : Math.max(1, cores / intraOpThreads);
  }
}
