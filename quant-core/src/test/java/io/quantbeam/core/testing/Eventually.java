package io.quantbeam.core.testing;

import java.time.Duration;
import java.util.function.IntSupplier;

/**
 * Waits for a count that another thread brings to a value, such as the sessions DirectRunner
 * closes when it tears a pipeline's DoFns down, which it does after the pipeline's result is out.
 */
public final class Eventually {
  private Eventually() {}

  /** Polls {@code count} until it equals {@code expected} or {@code timeout} passes; its last value. */
  public static int await(IntSupplier count, int expected, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    int now = count.getAsInt();
    while (now != expected && System.nanoTime() < deadline) {
      Thread.sleep(20);
      now = count.getAsInt();
    }
    return now;
  }
}
