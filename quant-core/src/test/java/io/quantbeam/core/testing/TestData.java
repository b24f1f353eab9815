package io.quantbeam.core.testing;

import io.quantbeam.core.text.LabeledText;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The data sets under {@code datasets/} of the repository (see their SOURCE.md files), for tests.
 *
 * <p>The repository root is the system property {@code quantbeam.repo} (surefire sets it to the Maven
 * multi-module root); without it, the nearest folder holding {@code datasets/sst2}, walking up from the
 * working directory.
 */
public final class TestData {

  private static volatile Path root;

  private TestData() {}

  /** The repository root. */
  public static Path repoRoot() {
    Path r = root;
    if (r == null) {
      r = locateRoot();
      root = r;
    }
    return r;
  }

  private static Path locateRoot() {
    String prop = System.getProperty("quantbeam.repo");
    if (prop != null && !prop.isBlank()) {
      Path p = Path.of(prop).toAbsolutePath().normalize();
      if (Files.isDirectory(p.resolve("datasets/sst2"))) {
        return p;
      }
      throw new IllegalStateException("System property quantbeam.repo=" + prop
          + " does not point at a folder holding datasets/sst2");
    }
    Path start = Path.of("").toAbsolutePath().normalize();
    for (Path p = start; p != null; p = p.getParent()) {
      if (Files.isDirectory(p.resolve("datasets/sst2"))) {
        return p;
      }
    }
    throw new IllegalStateException("No folder holding datasets/sst2 found above " + start
        + "; run from inside the repository or set -Dquantbeam.repo=<repository root>");
  }

  /** SST-2 dev: 872 sentences. */
  public static List<LabeledText> sst2Dev() {
    return readStsa("stsa.binary.dev");
  }

  /** SST-2 train: 6920 sentences. */
  public static List<LabeledText> sst2Train() {
    return readStsa("stsa.binary.train");
  }

  /** SST-2 test: 1821 labelled sentences. */
  public static List<LabeledText> sst2Test() {
    return readStsa("stsa.binary.test");
  }

  /** The first {@code n} of the 67,349 GLUE SST-2 training phrases, file order kept. */
  public static List<LabeledText> gluePhrases(int n) {
    if (n < 0) {
      throw new IllegalArgumentException("n must be >= 0, got " + n);
    }
    Path file = repoRoot().resolve("datasets/sst2-glue-phrases/train.tsv");
    List<LabeledText> out = new ArrayList<>(Math.min(n, 70_000));
    try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      String header = stripCr(in.readLine());
      if (!"label\tsentence".equals(header)) {
        throw new IllegalStateException(file + ": expected header 'label<TAB>sentence', got '" + header + "'");
      }
      int lineNo = 1;
      String line;
      while (out.size() < n && (line = in.readLine()) != null) {
        lineNo++;
        line = stripCr(line);
        int tab = line.indexOf('\t');
        if (tab < 1) {
          throw new IllegalStateException(file + ":" + lineNo + ": no 'label<TAB>sentence' in '" + line + "'");
        }
        out.add(new LabeledText(line.substring(tab + 1), parseLabel(line.substring(0, tab), file, lineNo)));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read " + file, e);
    }
    if (out.size() < n) {
      throw new IllegalArgumentException("Asked for " + n + " GLUE phrases; " + file + " holds " + out.size());
    }
    return out;
  }

  private static List<LabeledText> readStsa(String name) {
    Path file = repoRoot().resolve("datasets/sst2").resolve(name);
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read " + file, e);
    }
    List<LabeledText> out = new ArrayList<>(lines.size());
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i);
      if (line.length() < 3 || line.charAt(1) != ' ') {
        throw new IllegalStateException(file + ":" + (i + 1) + ": expected '<label> <sentence>', got '" + line + "'");
      }
      out.add(new LabeledText(line.substring(2), parseLabel(line.substring(0, 1), file, i + 1)));
    }
    return List.copyOf(out);
  }

  private static int parseLabel(String s, Path file, int lineNo) {
    try {
      return Integer.parseInt(s);
    } catch (NumberFormatException e) {
      throw new IllegalStateException(file + ":" + lineNo + ": label '" + s + "' is not a number", e);
    }
  }

  private static String stripCr(String s) {
    return s != null && s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
  }

  /** Just the texts. */
  public static List<String> texts(List<LabeledText> rows) {
    return rows.stream().map(LabeledText::text).toList();
  }
}
