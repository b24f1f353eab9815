package io.quantbeam.pipelines;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** This process's peak resident memory, as Linux reports it. */
final class ProcessMemory {
  private ProcessMemory() {}

  /** Peak RSS (VmHWM) in MB, or NaN where /proc is not available. */
  static double peakRssMb() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmHWM:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux: no figure
    }
    return Double.NaN;
  }
}
