package io.quantbeam.pipelines;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class LocalRunnerDefaultsTest {
  @Test
  void workersAreTheSessionsThatFitSideBySide() {
    assertEquals(1, LocalRunnerDefaults.workers(2, 0));
    assertEquals(1, LocalRunnerDefaults.workers(2, 2));
    assertEquals(2, LocalRunnerDefaults.workers(2, 1));
    assertEquals(8, LocalRunnerDefaults.workers(16, 2));
    assertEquals(1, LocalRunnerDefaults.workers(2, 4));
  }

  @Test
  void onlyWhatTheUserDidNotSetIsAdded() {
    int cores = Runtime.getRuntime().availableProcessors();
    List<String> local = List.of(LocalRunnerDefaults.withDefault(
        new String[] {"--intraOpThreads=1", "--enforceImmutability=true"}));
    assertEquals(List.of("--intraOpThreads=1", "--enforceImmutability=true",
        "--targetParallelism=" + Math.max(1, cores), "--enforceEncodability=false"), local);
    List<String> ortDefault = List.of(LocalRunnerDefaults.withDefault(
        new String[] {"--model=m", "--targetParallelism=3"}));
    assertTrue(ortDefault.contains("--targetParallelism=3"));
    assertEquals(1, ortDefault.stream().filter(a -> a.startsWith("--targetParallelism")).count());
    assertTrue(List.of(LocalRunnerDefaults.withDefault(new String[] {"--model=m"}))
        .contains("--targetParallelism=1"));
  }

  @Test
  void otherRunnersAreLeftAlone() {
    String[] flink = {"--runner=FlinkRunner", "--intraOpThreads=1"};
    assertArrayEquals(flink, LocalRunnerDefaults.withDefault(flink));
  }
}
