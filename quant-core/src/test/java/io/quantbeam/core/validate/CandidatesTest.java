package io.quantbeam.core.validate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.quant.NodeDecision;
import io.quantbeam.core.quant.QuantConfig;
import io.quantbeam.core.stats.CalibrationMethod;
import io.quantbeam.core.validate.Candidates.Candidate;
import io.quantbeam.core.validate.Candidates.Kind;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class CandidatesTest {
  static final List<NodeDecision> BASELINE = List.of(
      NodeDecision.quantized("/embeddings/word_embeddings/Gather", "Gather", "8-bit table"),
      NodeDecision.quantized("/encoder/layer.0/attention/self/query/MatMul", "MatMul", "q"),
      NodeDecision.quantized("/encoder/layer.0/output/dense/MatMul", "MatMul", "q"),
      NodeDecision.leftFloat("/encoder/layer.1/intermediate/dense/MatMul", "MatMul", "sqnr"),
      NodeDecision.quantized("/encoder/layer.10/output/dense/MatMul", "MatMul", "q"),
      NodeDecision.quantized("/classifier/MatMul", "MatMul", "q"));

  @Test
  void sweepParts() {
    QuantConfig base = QuantConfig.defaults();
    List<String> ranking = List.of("/classifier/MatMul", "/encoder/layer.0/output/dense/MatMul",
        "/encoder/layer.10/output/dense/MatMul", "/embeddings/word_embeddings/Gather");
    List<Candidate> c = Candidates.build(base, BASELINE, Kind.parse("baseline,user,topk,blocks,"
        + "optypes,grid"), Candidates.parseSets("a,b;c"), ranking, 8);
    List<String> names = c.stream().map(Candidate::name).toList();
    assertEquals(List.of("baseline", "exclude-set-1", "exclude-set-2", "top-1", "top-2", "top-4",
        "float-embeddings", "float-layer.0", "float-layer.10", "float-other", "float-Gather",
        "float-MatMul"), names.subList(0, 12));
    assertEquals(12 + 11, names.size(), "grid: 3 methods x 2 x 2 minus the baseline");
    Map<String, Candidate> byName = new java.util.HashMap<>();
    c.forEach(x -> byName.put(x.name(), x));
    assertEquals(Set.of("a", "b"), byName.get("exclude-set-1").config().excludeNodes());
    assertEquals(Set.of("/classifier/MatMul", "/encoder/layer.0/output/dense/MatMul"),
        byName.get("top-2").config().excludeNodes());
    assertEquals(Set.of("/encoder/layer.0/attention/self/query/MatMul",
        "/encoder/layer.0/output/dense/MatMul"), byName.get("float-layer.0").config().excludeNodes());
    assertEquals(4, byName.get("float-MatMul").config().excludeNodes().size());
    Candidate grid = byName.get("grid-entropy-pertensor-reduced");
    assertEquals(CalibrationMethod.ENTROPY, grid.config().calibration().method());
    assertTrue(grid.config().reduceRange());
    assertTrue(!grid.config().perChannel());
  }

  @Test
  void probesQuantizeOneNodeEach() {
    Map<String, Candidate> probes = Candidates.singleNodeProbes(QuantConfig.defaults(), BASELINE);
    assertEquals(5, probes.size());
    assertEquals(4, probes.get("/classifier/MatMul").config().excludeNodes().size());
    assertTrue(!probes.get("/classifier/MatMul").config().excludeNodes()
        .contains("/classifier/MatMul"));
  }

  @Test
  void blocksAndBadInput() {
    assertEquals("layer.3", Candidates.block("/encoder/layer.3/attention/self/key/MatMul"));
    assertEquals("layer.11", Candidates.block("/model/layers.11/mlp/MatMul"));
    assertEquals("embeddings", Candidates.block("/embeddings/word_embeddings/Gather"));
    assertEquals("other", Candidates.block("/classifier/MatMul"));
    QuantbeamException e = assertThrows(QuantbeamException.class,
        () -> Kind.parse("baseline,everything"));
    assertTrue(e.getMessage().contains("everything") && e.getMessage().contains("grid"));
    assertEquals(List.of(Set.of("a", "b"), Set.of("c")), Candidates.parseSets(" a , b ;; c ;"));
  }
}
