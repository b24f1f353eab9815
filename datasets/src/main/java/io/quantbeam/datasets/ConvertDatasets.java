package io.quantbeam.datasets;

import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.text.LabeledText;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * Converts the raw datasets (formats described in each SOURCE.md) to Parquet with columns
 * {@code text} and {@code label}, rows in file order.
 *
 * <pre>
 * java ... io.quantbeam.datasets.ConvertDatasets [inputFolder] [outputFolder] [imdbParts]
 * </pre>
 * inputFolder holds sst2/, sst2-glue-phrases/ and imdb/ (default ../shared/datasets, else
 * datasets/); imdbParts is how many IMDB parts per split to convert (default 1: test part 1).
 */
public final class ConvertDatasets {
  private ConvertDatasets() {}

  /** SST-2 sentence splits: {@code <label> <sentence>} per line. */
  public static List<LabeledText> readSst2(Path file) {
    List<LabeledText> rows = new ArrayList<>();
    for (String line : lines(file, false)) {
      if (line.isEmpty()) {
        continue;
      }
      if (line.length() < 3 || line.charAt(1) != ' ' || (line.charAt(0) != '0'
          && line.charAt(0) != '1')) {
        throw new QuantbeamException(file + ": line does not start with '0 ' or '1 ': " + line);
      }
      rows.add(new LabeledText(line.substring(2), line.charAt(0) - '0'));
    }
    return rows;
  }

  /** GLUE SST-2 phrases: header {@code label\tsentence}, label first, CRLF line endings. */
  public static List<LabeledText> readGluePhrases(Path file) {
    List<String> lines = lines(file, false);
    List<LabeledText> rows = new ArrayList<>();
    for (int i = 1; i < lines.size(); i++) {
      String line = lines.get(i);
      if (line.isEmpty()) {
        continue;
      }
      int tab = line.indexOf('\t');
      rows.add(new LabeledText(line.substring(tab + 1), Integer.parseInt(line.substring(0, tab))));
    }
    return rows;
  }

  /** IMDB part: gzip TSV with header {@code label\trating\tid\ttext}. */
  public static List<LabeledText> readImdbPart(Path file) {
    List<String> lines = lines(file, true);
    List<LabeledText> rows = new ArrayList<>();
    for (int i = 1; i < lines.size(); i++) {
      String[] f = lines.get(i).split("\t", 4);
      if (f.length != 4) {
        throw new QuantbeamException(file + ": line " + (i + 1) + " does not have 4 columns");
      }
      rows.add(new LabeledText(f[3], Integer.parseInt(f[0])));
    }
    return rows;
  }

  private static List<String> lines(Path file, boolean gzip) {
    if (!Files.isRegularFile(file)) {
      throw new QuantbeamException("Missing dataset file " + file + ". The raw datasets live in"
          + " ../shared/datasets (SST-2, GLUE SST-2 phrases, IMDB); pass the folder that holds"
          + " them as the first argument.");
    }
    try (BufferedReader r = new BufferedReader(new InputStreamReader(gzip
        ? new GZIPInputStream(Files.newInputStream(file)) : Files.newInputStream(file),
        StandardCharsets.UTF_8))) {
      List<String> out = new ArrayList<>();
      for (String line = r.readLine(); line != null; line = r.readLine()) {
        out.add(line.endsWith("\r") ? line.substring(0, line.length() - 1) : line);
      }
      return out;
    } catch (IOException e) {
      throw new QuantbeamException("Could not read " + file + ": " + e.getMessage(), e);
    }
  }

  public static void main(String[] args) {
    Path shared = Path.of("..", "shared", "datasets");
    Path in = args.length > 0 ? Path.of(args[0])
        : Files.isDirectory(shared) ? shared : Path.of("datasets");
    Path out = args.length > 1 ? Path.of(args[1]) : Path.of("datasets");
    int imdbParts = args.length > 2 ? Integer.parseInt(args[2]) : 1;
    for (String split : List.of("train", "dev", "test")) {
      convert(readSst2(in.resolve("sst2/stsa.binary." + split)),
          out.resolve("sst2/" + split + ".parquet"));
    }
    convert(readGluePhrases(in.resolve("sst2-glue-phrases/train.tsv")),
        out.resolve("sst2-glue-phrases/train.parquet"));
    for (int k = 1; k <= imdbParts; k++) {
      for (String split : imdbParts == 1 ? List.of("test") : List.of("train", "test")) {
        String name = split + ".part" + k + "of5";
        convert(readImdbPart(in.resolve("imdb/" + name + ".tsv.gz")),
            out.resolve("imdb/" + name + ".parquet"));
      }
    }
  }

  private static void convert(List<LabeledText> rows, Path out) {
    ParquetExamples.write(out, rows);
    System.out.printf("%s: %d rows%n", out, rows.size());
  }
}
