package io.quantbeam.pipelines;

import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.calib.CalibrationBatches;
import io.quantbeam.core.text.LabeledText;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.parquet.avro.AvroParquetReader;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.io.LocalInputFile;

/**
 * Reads a small local Parquet file on the driver (a holdout set, a benchmark sample): rows with a
 * blank text are skipped; a missing or non-integer label reads as -1. Large corpora go through the
 * pipelines' ReadExamples instead.
 */
final class ParquetTexts {
  private ParquetTexts() {}

  /**
   * @param option the command-line option that named the file, for error messages
   * @param max at most this many rows (0: all), those with the smallest text hash, so the choice
   *     does not depend on the file's order
   */
  static List<LabeledText> read(String file, String option, String textColumn,
      String labelColumn, int max) {
    Path path = Path.of(file);
    String named = " (" + option + ")";
    if (!Files.isRegularFile(path)) {
      throw new QuantbeamException("Parquet file not found: " + file + named
          + ". Pass a local .parquet file (columns '" + textColumn + "'"
          + (labelColumn == null ? "" : " and '" + labelColumn + "'") + ").");
    }
    Map<String, Integer> rows = new TreeMap<>();
    try (ParquetReader<GenericRecord> r = AvroParquetReader.<GenericRecord>builder(
        new LocalInputFile(path)).withDataModel(GenericData.get()).build()) {
      for (GenericRecord rec = r.read(); rec != null; rec = r.read()) {
        if (rec.getSchema().getField(textColumn) == null) {
          throw new QuantbeamException(file + named + " has no column '" + textColumn
              + "' (columns: "
              + rec.getSchema().getFields().stream().map(f -> f.name()).toList()
              + "). Name the text column with --textColumn.");
        }
        Object t = rec.get(textColumn);
        if (t == null || t.toString().isBlank()) {
          continue;
        }
        int label = -1;
        if (labelColumn != null && rec.getSchema().getField(labelColumn) != null
            && rec.get(labelColumn) instanceof Number n) {
          label = n.intValue();
        }
        rows.putIfAbsent(t.toString(), label);
      }
    } catch (IOException | RuntimeException e) {
      if (e instanceof QuantbeamException q) {
        throw q;
      }
      throw new QuantbeamException("Cannot read " + file + named + " as Parquet: "
          + e.getMessage() + ". Pass a Parquet file with a string column '" + textColumn + "'"
          + " with " + option + ".", e);
    }
    List<String> texts = new ArrayList<>(rows.keySet());
    if (max > 0) {
      texts = CalibrationBatches.sample(texts, max);
    }
    List<LabeledText> out = new ArrayList<>();
    for (String t : texts) {
      out.add(new LabeledText(t, rows.get(t)));
    }
    return out;
  }
}
