package io.quantbeam.datasets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.testing.TestData;
import io.quantbeam.core.text.LabeledText;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ParquetExamplesTest {
  @TempDir Path dir;

  private static Path datasets() {
    return TestData.repoRoot().resolve("datasets");
  }

  @Test
  void roundTripKeepsRowsAndNullLabels() throws Exception {
    List<LabeledText> rows = List.of(new LabeledText("crème brûlée", 1),
        new LabeledText("unlabeled", -1), new LabeledText("", 0));
    Path file = dir.resolve("x.parquet");
    ParquetExamples.write(file, rows);
    assertEquals(rows, ParquetExamples.read(file));
    try (var files = Files.list(dir)) {
      assertEquals(1, files.count(), "no temporary file left behind");
    }
  }

  @Test
  void shardsCoverEveryRowOnce() {
    List<LabeledText> rows = new ArrayList<>();
    for (int i = 0; i < 103; i++) {
      rows.add(new LabeledText("row " + i, i % 2));
    }
    List<Path> files = ParquetExamples.writeShards(dir, "part", rows, 7);
    assertEquals(7, files.size());
    assertTrue(files.get(0).getFileName().toString().equals("part-00000-of-00007.parquet"));
    List<LabeledText> back = new ArrayList<>();
    files.forEach(f -> back.addAll(ParquetExamples.read(f)));
    assertEquals(rows, back);
  }

  @Test
  void committedSst2MatchesTheRawFilesAndSourceCounts() {
    assertEquals(TestData.sst2Dev(), ParquetExamples.read(datasets().resolve("sst2/dev.parquet")));
    assertEquals(TestData.sst2Test(),
        ParquetExamples.read(datasets().resolve("sst2/test.parquet")));
    List<LabeledText> train = ParquetExamples.read(datasets().resolve("sst2/train.parquet"));
    assertEquals(TestData.sst2Train(), train);
    assertEquals(6920, train.size());
    assertEquals(3610, train.stream().filter(r -> r.label() == 1).count());
    List<LabeledText> phrases =
        ParquetExamples.read(datasets().resolve("sst2-glue-phrases/train.parquet"));
    assertEquals(67349, phrases.size());
    assertEquals(29780, phrases.stream().filter(r -> r.label() == 0).count());
    assertEquals(TestData.gluePhrases(100), phrases.subList(0, 100));
  }

  @Test
  void committedImdbPartIsBalanced() {
    List<LabeledText> imdb = ParquetExamples.read(datasets().resolve("imdb/test.part1of5.parquet"));
    assertEquals(5000, imdb.size());
    assertEquals(2500, imdb.stream().filter(r -> r.label() == 1).count());
    assertTrue(imdb.get(0).text().startsWith("Once again Mr. Costner"), imdb.get(0).text());
  }

  @Test
  void imdbConversionMatchesTheSharedRawPart() {
    Path raw = TestData.repoRoot().resolve("../shared/datasets/imdb/test.part1of5.tsv.gz");
    assumeTrue(Files.isRegularFile(raw),
        "skipped: ../shared/datasets/imdb is absent (it is there in CI; the committed Parquet"
            + " part is checked by committedImdbPartIsBalanced)");
    assertEquals(ConvertDatasets.readImdbPart(raw),
        ParquetExamples.read(datasets().resolve("imdb/test.part1of5.parquet")));
  }

  @Test
  void missingInputsAreClearErrors() {
    QuantbeamException e = assertThrows(QuantbeamException.class,
        () -> ConvertDatasets.readSst2(dir.resolve("nope")));
    assertTrue(e.getMessage().contains("nope") && e.getMessage().contains("shared/datasets"));
    assertThrows(QuantbeamException.class, () -> ParquetExamples.read(dir.resolve("none.parquet")));
    Path notParquet = dir.resolve("bad.parquet");
    assertThrows(QuantbeamException.class, () -> {
      Files.writeString(notParquet, "not parquet");
      ParquetExamples.read(notParquet);
    });
  }
}
