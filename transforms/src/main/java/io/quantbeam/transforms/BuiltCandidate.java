package io.quantbeam.transforms;

import java.io.Serializable;
import java.util.List;

/**
 * A candidate model on disk (or the reason it could not be built: {@code error} set, no path).
 *
 * @param name the candidate's name (file-safe)
 * @param kind its sweep part (BASELINE, USER, TOPK, BLOCKS, OPTYPES, GRID)
 * @param path the model file
 * @param sha256 of the model file: the session cache key
 * @param sizeBytes of the model file
 * @param quantizedNodes nodes the quantizer quantized
 * @param excludedNodes the config's excluded nodes
 * @param error why the quantizer refused this candidate, or null
 */
public record BuiltCandidate(String name, String kind, String path, String sha256, long sizeBytes,
    long quantizedNodes, List<String> excludedNodes, String error) implements Serializable {
  public BuiltCandidate {
    excludedNodes = List.copyOf(excludedNodes);
  }
}
