package io.quantbeam.datasets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.text.LabeledText;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.parquet.format.ColumnChunk;
import org.apache.parquet.format.Encoding;
import org.apache.parquet.format.FileMetaData;
import org.apache.parquet.format.RowGroup;
import org.apache.parquet.format.Util;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.metadata.BlockMetaData;
import org.apache.parquet.hadoop.metadata.ColumnChunkMetaData;
import org.apache.parquet.hadoop.metadata.ParquetMetadata;
import org.apache.parquet.io.LocalInputFile;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;
import org.apache.parquet.schema.Type.Repetition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ParquetExamplesTest {
  @TempDir Path dir;

  private static List<LabeledText> rows(int n) {
    List<LabeledText> rows = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      rows.add(new LabeledText("row " + i + (i % 5 == 0 ? " crème brûlée" : ""),
          i % 3 == 2 ? -1 : i % 2));
    }
    return rows;
  }

  private List<Path> filesInDir() throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.sorted().toList();
    }
  }

  @Test
  void roundTripKeepsRowsOrderAndNullLabels() throws Exception {
    List<LabeledText> rows = List.of(new LabeledText("crème brûlée", 1),
        new LabeledText("unlabeled", -1), new LabeledText("", 0), new LabeledText("tab\there", 1));
    Path file = dir.resolve("x.parquet");
    ParquetExamples.write(file, rows);
    assertEquals(rows, ParquetExamples.read(file));
    assertEquals(List.of(file), filesInDir(), "no temporary file left behind");
    List<LabeledText> more = rows(2500);
    ParquetExamples.write(file, more);
    assertEquals(more, ParquetExamples.read(file), "an existing file is replaced");
    ParquetExamples.write(file, List.of());
    assertEquals(List.of(), ParquetExamples.read(file));
  }

  @Test
  void schemaIsRequiredUtf8TextAndOptionalIntLabel() throws Exception {
    Path file = dir.resolve("x.parquet");
    ParquetExamples.write(file, rows(10));
    try (ParquetFileReader reader = ParquetFileReader.open(new LocalInputFile(file))) {
      ParquetMetadata footer = reader.getFooter();
      MessageType schema = footer.getFileMetaData().getSchema();
      assertEquals(2, schema.getFieldCount());
      var text = schema.getType("text").asPrimitiveType();
      assertEquals(Repetition.REQUIRED, text.getRepetition());
      assertEquals(PrimitiveTypeName.BINARY, text.getPrimitiveTypeName());
      assertEquals(LogicalTypeAnnotation.stringType(), text.getLogicalTypeAnnotation());
      var label = schema.getType("label").asPrimitiveType();
      assertEquals(Repetition.OPTIONAL, label.getRepetition());
      assertEquals(PrimitiveTypeName.INT32, label.getPrimitiveTypeName());
      for (BlockMetaData block : footer.getBlocks()) {
        for (ColumnChunkMetaData column : block.getColumns()) {
          assertEquals(ParquetExamples.CODEC, column.getCodec());
        }
      }
    }
  }

  @Test
  void writingTwiceGivesIdenticalBytes() throws Exception {
    List<LabeledText> rows = rows(3000);
    Path a = dir.resolve("a.parquet");
    Path b = dir.resolve("b.parquet");
    ParquetExamples.write(a, rows);
    ParquetExamples.write(b, rows);
    assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));
  }

  @Test
  void footerEncodingListsAreSortedSoBytesDoNotDependOnTheJvm() throws Exception {
    // parquet-mr fills these lists from hash sets of enums (identity hash order, differs per JVM
    // run); write() sorts them. Cross-JVM equality is also checked against the committed files.
    Path file = dir.resolve("x.parquet");
    ParquetExamples.write(file, rows(3000));
    byte[] bytes = Files.readAllBytes(file);
    int footerLength = ByteBuffer.wrap(bytes, bytes.length - 8, 4)
        .order(ByteOrder.LITTLE_ENDIAN).getInt();
    FileMetaData footer = Util.readFileMetaData(new ByteArrayInputStream(bytes,
        bytes.length - 8 - footerLength, footerLength));
    int columns = 0;
    for (RowGroup group : footer.getRow_groups()) {
      for (ColumnChunk chunk : group.getColumns()) {
        List<Integer> values = chunk.getMeta_data().getEncodings().stream()
            .map(Encoding::getValue).toList();
        assertTrue(values.size() > 1, "a column with several encodings shows the order");
        assertEquals(values.stream().sorted().toList(), values,
            chunk.getMeta_data().getPath_in_schema().toString());
        columns++;
      }
    }
    assertEquals(2, columns);
  }

  @Test
  void shardsCoverEveryRowOnceInOrder() throws Exception {
    List<LabeledText> rows = rows(103);
    List<Path> files = ParquetExamples.writeShards(dir, "part", rows, 7);
    assertEquals(7, files.size());
    assertEquals(dir.resolve("part-00000-of-00007.parquet"), files.get(0));
    assertEquals(dir.resolve("part-00006-of-00007.parquet"), files.get(6));
    assertEquals(files, filesInDir());
    List<LabeledText> back = new ArrayList<>();
    for (Path f : files) {
      int n = ParquetExamples.read(f).size();
      assertTrue(n == 14 || n == 15, f + " holds " + n + " rows");
      back.addAll(ParquetExamples.read(f));
    }
    assertEquals(rows, back);

    List<Path> more = ParquetExamples.writeShards(dir.resolve("sub"), "x", rows(3), 5);
    int total = 0;
    for (Path f : more) {
      total += ParquetExamples.read(f).size();
    }
    assertEquals(3, total, "more shards than rows: some files are empty, none is missing");
  }

  @Test
  void badArgumentsAndFilesAreClearErrors() throws Exception {
    QuantbeamException e = assertThrows(QuantbeamException.class,
        () -> ParquetExamples.writeShards(dir, "p", rows(3), 0));
    assertTrue(e.getMessage().contains("Shard count"), e.getMessage());
    assertThrows(QuantbeamException.class,
        () -> ParquetExamples.writeShards(dir, "a/b", rows(3), 1));
    e = assertThrows(QuantbeamException.class,
        () -> ParquetExamples.read(dir.resolve("none.parquet")));
    assertTrue(e.getMessage().contains("none.parquet"), e.getMessage());
    Path notParquet = dir.resolve("bad.parquet");
    Files.writeString(notParquet, "not parquet");
    e = assertThrows(QuantbeamException.class, () -> ParquetExamples.read(notParquet));
    assertTrue(e.getMessage().contains("bad.parquet"), e.getMessage());
    Path blocked = dir.resolve("file");
    Files.writeString(blocked, "x");
    e = assertThrows(QuantbeamException.class,
        () -> ParquetExamples.write(blocked.resolve("x.parquet"), rows(1)));
    assertTrue(e.getMessage().contains("Could not write"), e.getMessage());
  }
}
