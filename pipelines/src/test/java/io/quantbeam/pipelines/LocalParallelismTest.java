package io.quantbeam.pipelines;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class LocalParallelismTest {
  @Test
  void workersAreTheSessionsThatFitSideBySide() {
    assertEquals(1, LocalParallelism.workers(2, 0));
    assertEquals(1, LocalParallelism.workers(2, 2));
    assertEquals(2, LocalParallelism.workers(2, 1));
    assertEquals(8, LocalParallelism.workers(16, 2));
    assertEquals(1, LocalParallelism.workers(2, 4));
  }

  @Test
  void onlyALocalRunWithoutAnExplicitValueGetsTheDefault() {
    String[] given = {"--model=m", "--targetParallelism=3"};
    assertArrayEquals(given, LocalParallelism.withDefault(given));
    String[] flink = {"--runner=FlinkRunner", "--intraOpThreads=1"};
    assertArrayEquals(flink, LocalParallelism.withDefault(flink));
    int cores = Runtime.getRuntime().availableProcessors();
    String[] local = LocalParallelism.withDefault(new String[] {"--intraOpThreads=1"});
    assertEquals("--targetParallelism=" + Math.max(1, cores), local[local.length - 1]);
    String[] ortDefault = LocalParallelism.withDefault(new String[] {"--model=m"});
    assertEquals("--targetParallelism=1", ortDefault[ortDefault.length - 1]);
  }
}
