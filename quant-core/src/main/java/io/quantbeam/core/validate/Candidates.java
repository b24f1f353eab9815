package io.quantbeam.core.validate;

import com.fasterxml.jackson.annotation.JsonCreator;
import io.quantbeam.core.EnumNames;
import io.quantbeam.core.quant.NodeDecision;
import io.quantbeam.core.quant.QuantConfig;
import io.quantbeam.core.stats.CalibrationMethod;
import io.quantbeam.core.stats.CalibrationParams;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The candidates of a sweep: each is a name and a {@link QuantConfig} to apply to the same
 * calibration table (no new inference). Built from the base config, the nodes the baseline
 * quantized, a sensitivity ranking and the user's exclusion sets.
 */
public final class Candidates {
  /** What a sweep may contain ({@code --sweep}). */
  public enum Kind {
    BASELINE, USER, TOPK, BLOCKS, OPTYPES, GRID;

    /** One part, in any case; also how Beam reads each element of {@code --sweep}. */
    @JsonCreator
    public static Kind of(String name) {
      return EnumNames.parse(Kind.class, name, "sweep part");
    }

    /** A comma list of parts ("baseline,topk"); blanks are skipped. */
    public static Set<Kind> parse(String list) {
      Set<Kind> out = EnumSet.noneOf(Kind.class);
      if (list == null || list.isBlank()) {
        return out;
      }
      for (String s : list.split(",")) {
        if (!s.isBlank()) {
          out.add(of(s));
        }
      }
      return out;
    }

    /** The parts as a set (the order of a sweep does not matter, and a part counts once). */
    public static Set<Kind> setOf(java.util.Collection<Kind> parts) {
      Set<Kind> out = EnumSet.noneOf(Kind.class);
      out.addAll(parts);
      return out;
    }

    /** The parts as {@code --sweep} takes them: "baseline,topk". */
    public static String text(java.util.Collection<Kind> parts) {
      return parts.stream().map(EnumNames::display).collect(Collectors.joining(","));
    }
  }

  /** One candidate: a file-safe name, its kind and its config. */
  public record Candidate(String name, Kind kind, QuantConfig config) {}

  /** The default sweep (the grid multiplies candidates by up to 12: ask for it). */
  public static final String DEFAULT_SWEEP = "baseline,user,topk,blocks,optypes";

  private static final Pattern LAYER = Pattern.compile("layers?[._/]?(\\d+)");

  private Candidates() {}

  /** The transformer block a node belongs to, from its name: layer.N, embeddings or other. */
  public static String block(String nodeName) {
    Matcher m = LAYER.matcher(nodeName);
    if (m.find()) {
      return "layer." + m.group(1);
    }
    return nodeName.contains("embeddings") ? "embeddings" : "other";
  }

  /** Parses {@code --excludeSets}: sets separated by ';', node names inside a set by ','. */
  public static List<Set<String>> parseSets(String text) {
    List<Set<String>> sets = new ArrayList<>();
    if (text == null || text.isBlank()) {
      return sets;
    }
    for (String set : text.split(";")) {
      Set<String> nodes = Arrays.stream(set.split(",")).map(String::trim)
          .filter(s -> !s.isEmpty()).collect(Collectors.toCollection(TreeSet::new));
      if (!nodes.isEmpty()) {
        sets.add(nodes);
      }
    }
    return sets;
  }

  /**
   * @param base the config the baseline uses (its own exclusions are kept in every candidate)
   * @param baseline the baseline's node decisions (which nodes it quantized)
   * @param sweep which parts to build
   * @param userSets node sets to leave float, one candidate each
   * @param ranking quantized nodes, most sensitive first (may be empty)
   * @param maxTopK the largest k of the top-k candidates (k = 1, 2, 4, ... up to it)
   */
  public static List<Candidate> build(QuantConfig base, List<NodeDecision> baseline,
      Set<Kind> sweep, List<Set<String>> userSets, List<String> ranking, int maxTopK) {
    List<String> quantized = baseline.stream().filter(NodeDecision::quantized)
        .map(NodeDecision::node).toList();
    Map<String, Candidate> out = new LinkedHashMap<>();
    if (sweep.contains(Kind.BASELINE)) {
      add(out, "baseline", Kind.BASELINE, base);
    }
    if (sweep.contains(Kind.USER)) {
      for (int i = 0; i < userSets.size(); i++) {
        add(out, "exclude-set-" + (i + 1), Kind.USER, excluding(base, userSets.get(i)));
      }
    }
    if (sweep.contains(Kind.TOPK)) {
      List<String> ranked = ranking.stream().filter(quantized::contains).toList();
      for (int k = 1; k <= Math.min(maxTopK, ranked.size()) && k < quantized.size(); k *= 2) {
        add(out, "top-" + k, Kind.TOPK, excluding(base, ranked.subList(0, k)));
      }
    }
    if (sweep.contains(Kind.BLOCKS)) {
      Map<String, List<String>> blocks = new TreeMap<>(Candidates::compareBlocks);
      for (String n : quantized) {
        blocks.computeIfAbsent(block(n), b -> new ArrayList<>()).add(n);
      }
      if (blocks.size() > 1) {
        blocks.forEach((b, nodes) -> add(out, "float-" + b, Kind.BLOCKS, excluding(base, nodes)));
      }
    }
    if (sweep.contains(Kind.OPTYPES)) {
      Map<String, List<String>> types = new TreeMap<>();
      for (NodeDecision d : baseline) {
        if (d.quantized()) {
          types.computeIfAbsent(d.opType(), t -> new ArrayList<>()).add(d.node());
        }
      }
      if (types.size() > 1) {
        types.forEach((t, nodes) -> add(out, "float-" + t, Kind.OPTYPES, excluding(base, nodes)));
      }
    }
    if (sweep.contains(Kind.GRID)) {
      for (CalibrationMethod m : List.of(CalibrationMethod.MINMAX, CalibrationMethod.PERCENTILE,
          CalibrationMethod.ENTROPY)) {
        for (boolean perChannel : new boolean[] {true, false}) {
          for (boolean reduce : new boolean[] {false, true}) {
            QuantConfig c = base.withCalibration(base.calibration().method() == m
                    ? base.calibration() : CalibrationParams.of(m))
                .withPerChannel(perChannel).withReduceRange(reduce);
            if (c.equals(base) && sweep.contains(Kind.BASELINE)) {
              continue;
            }
            add(out, "grid-" + m.name().toLowerCase(Locale.ROOT).replace('_', '-')
                + (perChannel ? "-perchannel" : "-pertensor") + (reduce ? "-reduced" : ""),
                Kind.GRID, c);
          }
        }
      }
    }
    return new ArrayList<>(out.values());
  }

  private static void add(Map<String, Candidate> out, String name, Kind kind, QuantConfig c) {
    out.putIfAbsent(name, new Candidate(name, kind, c));
  }

  private static QuantConfig excluding(QuantConfig base, java.util.Collection<String> nodes) {
    Set<String> all = new LinkedHashSet<>(base.excludeNodes());
    all.addAll(nodes);
    return base.withExcludeNodes(all);
  }

  /** layer.2 before layer.10; embeddings first, other last. */
  static int compareBlocks(String a, String b) {
    return Integer.compare(order(a), order(b)) != 0 ? Integer.compare(order(a), order(b))
        : a.compareTo(b);
  }

  private static int order(String block) {
    if (block.equals("embeddings")) {
      return -1;
    }
    if (block.startsWith("layer.")) {
      return Integer.parseInt(block.substring(6));
    }
    return Integer.MAX_VALUE;
  }

  /**
   * One probe per quantized node for the sensitivity ranking: the base config with every other
   * quantized node left float, so the probe's output error is that node's alone.
   */
  public static Map<String, Candidate> singleNodeProbes(QuantConfig base,
      List<NodeDecision> baseline) {
    List<String> quantized = baseline.stream().filter(NodeDecision::quantized)
        .map(NodeDecision::node).toList();
    Map<String, Candidate> out = new LinkedHashMap<>();
    for (int i = 0; i < quantized.size(); i++) {
      List<String> others = new ArrayList<>(quantized);
      others.remove(i);
      out.put(quantized.get(i), new Candidate("probe-" + i, Kind.TOPK, excluding(base, others)));
    }
    return out;
  }
}
