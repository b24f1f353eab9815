package io.quantbeam.pipelines;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.quant.QuantType;
import io.quantbeam.core.stats.CalibrationMethod;
import io.quantbeam.core.validate.Candidates;
import io.quantbeam.core.validate.Candidates.Kind;
import io.quantbeam.pipelines.CommandLine.Command;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.junit.jupiter.api.Test;

/** The shared command-line handling: typed values, the error for a bad one, --help. */
class CommandLineTest {
  private static final List<String> REQUIRED = List.of("--model=m.onnx", "--tokenizer=t.json",
      "--calibrationData=c.parquet", "--output=out");

  private static List<String> quantize(String... more) {
    List<String> a = new ArrayList<>(REQUIRED);
    a.addAll(List.of(more));
    return a;
  }

  @Test
  void fixedSetsAreReadInAnyCaseWithDashesForUnderscores() {
    QuantizeOptions o = Commands.QUANTIZE.parse(quantize("--method=Moving-Average",
        "--activationType=int8", "--sweep=baseline,TOPK")).orElseThrow();
    assertEquals(CalibrationMethod.MOVING_AVERAGE, o.getMethod());
    assertEquals(QuantType.INT8, o.getActivationType());
    assertEquals(List.of(Kind.BASELINE, Kind.TOPK), o.getSweep());
    QuantizeOptions d = Commands.QUANTIZE.parse(quantize()).orElseThrow();
    assertEquals(CalibrationMethod.MINMAX, d.getMethod());
    assertEquals(QuantType.UINT8, d.getActivationType());
    assertEquals(QuantType.INT8, d.getWeightType());
    assertEquals(Candidates.DEFAULT_SWEEP, Kind.text(d.getSweep()));
  }

  @Test
  void aBadValueNamesTheOptionAndTheValidValues() {
    QuantbeamException e = assertThrows(QuantbeamException.class,
        () -> Commands.QUANTIZE.parse(quantize("--method=kl")));
    assertEquals("Invalid --method=kl: use one of minmax, moving-average, percentile, entropy"
        + " (any case)", e.getMessage());
    e = assertThrows(QuantbeamException.class,
        () -> Commands.QUANTIZE.parse(quantize("--weightType=int4")));
    assertEquals("Invalid --weightType=int4: use one of int8, uint8, int16 (any case)",
        e.getMessage());
    e = assertThrows(QuantbeamException.class,
        () -> Commands.QUANTIZE.parse(quantize("--sweep=baseline,everything")));
    assertEquals("Invalid --sweep=baseline,everything: use a comma list of baseline, user, topk,"
        + " blocks, optypes, grid (any case)", e.getMessage());
    e = assertThrows(QuantbeamException.class, () -> Commands.DRIFT.parse(List.of(
        "--registry=r", "--modelName=m", "--productionData=p", "--output=o", "--policy=latest")));
    assertEquals("Invalid --policy=latest: use one of window, merge (any case)", e.getMessage());
    // Beam's other messages are kept, as a QuantbeamException (an "error:" line, no trace)
    e = assertThrows(QuantbeamException.class,
        () -> Commands.QUANTIZE.parse(quantize("--maxExample=5")));
    assertTrue(e.getMessage().contains("maxExample"), e.getMessage());
  }

  @Test
  void helpOfASmallCommandListsItsOptionsAndNothingElseRuns() {
    String help = printed(() -> assertTrue(Commands.REGISTRY.parse(List.of("--help")).isEmpty()));
    assertTrue(help.startsWith("usage: quantbeam registry register|list|rollback"), help);
    for (String o : List.of("--registry=<String>", "--modelName=<String>", "--from=<String>",
        "--to=<String>")) {
      assertTrue(help.contains(o), o + " in\n" + help);
    }
    assertFalse(help.contains("--jobName"), "Beam's own options are left to --help=...\n" + help);
    String quantize = printed(() -> Commands.QUANTIZE.parse(List.of("--help")));
    assertTrue(quantize.contains("--method=<MINMAX | MOVING_AVERAGE | PERCENTILE | ENTROPY>"),
        quantize);
    String bench = printed(() -> Commands.sst2Bench(Path.of("/repo")).parse(List.of("--help")));
    assertTrue(bench.contains("  --rounds=<int>\n    Default: 5 (this command's)\n")
        && bench.contains("  --singles=<int>\n    Default: 64\n"), bench);
    assertTrue(bench.contains("  --intraOpThreads=<int>\n    Default: 2 (this command's)\n    ONNX"),
        bench);
  }

  @Test
  void commandDefaultsGiveWayToTheUsersOptions() {
    Sst2Benchmark.Sst2BenchOptions b = Commands.sst2Bench(Path.of("/repo"))
        .parse(List.of("--rounds=30")).orElseThrow();
    assertEquals(30, b.getRounds());
    assertEquals(2, b.getIntraOpThreads());
    assertEquals("/repo/target/bench", b.getOutput());
    assertEquals(List.of(2000, 20000), Commands.MEMORY_BENCH.parse(quantize()).orElseThrow()
        .getSizes());
    assertEquals(List.of("a", "b"), CommandLine.words(new String[] {"a", "b", "--x=1", "c"}));
    assertEquals(List.of("--x=1", "c"), CommandLine.options(new String[] {"a", "--x=1", "c"}));
    assertEquals(List.of("--model=m", "--maxExamples=9"), CommandLine.without(
        List.of("--sizes=1", "--model=m", "--output=o", "--maxExamples=9"), "sizes", "output"));
    assertEquals(List.of("--a=1", "--b=2"), CommandLine.withDefaults(List.of("--a=1"),
        Map.of("a", "0", "b", "2")));
  }

  /**
   * Beam checks every options interface loaded in a JVM against the others: one option name, one
   * type and one default. A clash would only show when two commands meet in one JVM (the tests,
   * flink submit), so this loads them all together.
   */
  @Test
  void everyCommandsOptionsLoadTogether() {
    for (Command<?> c : Commands.all(Path.of("/repo"))) {
      if (c.options() != null) {
        PipelineOptionsFactory.register(c.options());
      }
    }
    for (Command<?> c : Commands.all(Path.of("/repo"))) {
      if (c.options() != null) {
        PipelineOptions o = PipelineOptionsFactory.fromArgs().as(c.options());
        assertTrue(c.options().isInstance(o), c.name());
      }
    }
  }

  private static String printed(Runnable r) {
    PrintStream old = System.out;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
    try {
      r.run();
    } finally {
      System.setOut(old);
    }
    return buf.toString(StandardCharsets.UTF_8);
  }
}
