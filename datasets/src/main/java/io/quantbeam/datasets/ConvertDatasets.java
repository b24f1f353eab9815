package io.quantbeam.datasets;

import io.quantbeam.core.QuantbeamException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Converts the raw data sets to Parquet ({@link Converters}, {@link ParquetExamples}).
 *
 * <pre>
 * ConvertDatasets [input-folder [output-folder [imdb-part ...]]]
 * </pre>
 *
 * <ul>
 *   <li>input-folder holds {@code sst2/}, {@code sst2-glue-phrases/} and {@code imdb/}; default
 *       {@code ../shared/datasets} next to the repository root when that folder exists, else the
 *       repository's {@code datasets/}.
 *   <li>output-folder: default the repository's {@code datasets/}.
 *   <li>imdb-part: {@code test.part1of5} (the default), any {@code <train|test>.part<K>of5},
 *       {@code all} (all ten parts) or {@code none}.
 * </ul>
 *
 * <p>The repository root is the nearest folder at or above the working directory that holds
 * {@code datasets/pom.xml} (else the working directory). From the root:
 * {@code mvn -o -q -pl datasets exec:java -Dexec.mainClass=io.quantbeam.datasets.ConvertDatasets}.
 */
public final class ConvertDatasets {
  static final String DEFAULT_IMDB_PART = "test.part1of5";

  private ConvertDatasets() {}

  public static void main(String[] args) {
    if (args.length > 0 && (args[0].equals("-h") || args[0].equals("--help"))) {
      System.out.println("usage: ConvertDatasets [input-folder [output-folder [imdb-part ...]]]"
          + "\n  imdb-part: test.part1of5 (default), <train|test>.part<K>of5, all or none");
      return;
    }
    try {
      for (Path written : run(args)) {
        System.out.println("wrote " + written);
      }
    } catch (QuantbeamException e) {
      System.err.println("ConvertDatasets: " + e.getMessage());
      System.exit(1);
    }
  }

  /** Converts as {@link #main} does and returns the files written, in order. */
  public static List<Path> run(String... args) {
    Path root = repoRoot(Path.of("").toAbsolutePath());
    Path shared = root.resolve("../shared/datasets").normalize();
    Path in = args.length > 0 ? Path.of(args[0])
        : Files.isDirectory(shared) ? shared : root.resolve("datasets");
    Path out = args.length > 1 ? Path.of(args[1]) : root.resolve("datasets");
    if (!Files.isDirectory(in)) {
      throw new QuantbeamException("Input folder " + in.toAbsolutePath().normalize()
          + " does not exist; pass the folder that holds sst2/, sst2-glue-phrases/ and imdb/"
          + " (e.g. ../shared/datasets).");
    }
    List<String[]> imdbParts = imdbParts(args.length > 2
        ? List.of(args).subList(2, args.length) : List.of(DEFAULT_IMDB_PART));
    List<Path> written = new ArrayList<>();
    for (String split : Converters.SST2_SPLITS) {
      written.add(Converters.convertSst2(in, out, split));
    }
    written.add(Converters.convertGluePhrases(in, out));
    for (String[] part : imdbParts) {
      written.add(Converters.convertImdbPart(in, out, part[0], Integer.parseInt(part[1])));
    }
    return written;
  }

  private static List<String[]> imdbParts(List<String> names) {
    List<String[]> parts = new ArrayList<>();
    for (String name : names) {
      if (name.equals("none")) {
        continue;
      }
      if (name.equals("all")) {
        for (String split : Converters.IMDB_SPLITS) {
          for (int k = 1; k <= Converters.IMDB_PARTS; k++) {
            parts.add(new String[] {split, Integer.toString(k)});
          }
        }
        continue;
      }
      String[] p = name.split("\\.part|of", -1);
      boolean known = false;
      for (String split : Converters.IMDB_SPLITS) {
        for (int k = 1; k <= Converters.IMDB_PARTS; k++) {
          known |= name.equals(Converters.imdbPartName(split, k));
        }
      }
      if (!known) {
        throw new QuantbeamException("Unknown IMDB part '" + name + "'; use e.g. test.part1of5"
            + " (train|test, parts 1 to 5), all or none.");
      }
      parts.add(new String[] {p[0], p[1]});
    }
    return parts;
  }

  static Path repoRoot(Path start) {
    for (Path p = start; p != null; p = p.getParent()) {
      if (Files.isRegularFile(p.resolve("datasets/pom.xml"))) {
        return p;
      }
    }
    return start;
  }
}
