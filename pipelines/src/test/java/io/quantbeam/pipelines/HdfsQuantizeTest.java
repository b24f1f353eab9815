package io.quantbeam.pipelines;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.quantbeam.core.Quantbeam;
import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.onnx.OnnxModelIO;
import io.quantbeam.core.testing.MiniLm;
import io.quantbeam.core.testing.TestData;
import io.quantbeam.core.testing.TinyTransformer;
import io.quantbeam.core.text.EncodedBatch;
import io.quantbeam.core.text.TextTokenizer;
import io.quantbeam.core.validate.ModelRunner;
import io.quantbeam.transforms.ParquetFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real distributed file system: an HDFS MiniDFSCluster (one NameNode, one DataNode, in this
 * JVM) holds the model, the tokenizer and both Parquet sets, and {@code quantize} with validation
 * reads them and writes its output folder as {@code hdfs://} URIs through Beam's FileSystems, in
 * the driver and in the DirectRunner's workers (candidates, work files and the pending folder
 * included). The model, the calibration table and every candidate are byte-identical to a run on
 * the same local files.
 */
class HdfsQuantizeTest {
  @TempDir static Path shared;
  @TempDir Path dir;
  static MiniDFSCluster cluster;
  static String nameNode;
  static Path model;
  static Path calibration;
  static Path data;

  @BeforeAll
  static void startHdfsAndCopyTheInputs() throws Exception {
    model = shared.resolve("tiny-classifier.onnx");
    OnnxModelIO.save(TinyTransformer.build(TinyTransformer.Config.defaults().withVocab(30522)
        .withClassifierHead(2)), model);
    List<String> texts = TestData.texts(TestData.gluePhrases(400)).subList(200, 400);
    int[] labels = new int[texts.size()];
    try (ModelRunner fp32 = new ModelRunner(model, 1);
        TextTokenizer tok = TextTokenizer.fromFile(MiniLm.tokenizer(), 32)) {
      for (int i = 0; i < texts.size(); i++) {
        EncodedBatch b = tok.encode(List.of(texts.get(i)));
        float[] logits = fp32.run(b)[0];
        labels[i] = logits[1] > logits[0] ? 1 : 0;
      }
    }
    data = ParquetFiles.writeLabeled(shared.resolve("dev.parquet"), texts, labels);
    calibration = ParquetFiles.write(shared.resolve("calib.parquet"),
        TestData.texts(TestData.gluePhrases(120)));

    Configuration conf = new Configuration();
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, shared.resolve("hdfs").toString());
    cluster = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
    cluster.waitActive();
    nameNode = "hdfs://localhost:" + cluster.getNameNodePort();
    FileSystem fs = cluster.getFileSystem();
    for (Path p : List.of(model, MiniLm.tokenizer(), calibration, data)) {
      fs.copyFromLocalFile(new org.apache.hadoop.fs.Path(p.toString()),
          new org.apache.hadoop.fs.Path("/in/" + p.getFileName()));
    }
  }

  @AfterAll
  static void stopHdfs() {
    if (cluster != null) {
      cluster.shutdown();
    }
  }

  static String hdfs(Path local) {
    return nameNode + "/in/" + local.getFileName();
  }

  static QuantizeOptions options(String model, String tokenizer, String calibration, String data,
      String out) {
    List<String> args = new ArrayList<>(List.of(
        "--model=" + model, "--tokenizer=" + tokenizer, "--calibrationData=" + calibration,
        "--output=" + out, "--batchSize=8", "--maxSequenceLength=32", "--intraOpThreads=1",
        "--validationData=" + data, "--labelColumn=label", "--sensitivitySamples=32",
        "--sweep=baseline,topk", "--maxTopK=2", "--latencyRounds=1", "--latencyTexts=16",
        "--validationShards=2", "--maxAccuracyDrop=5",
        // the smallest passing candidate, not the fastest: a selection that timings cannot change
        "--speedTieTolerance=Infinity",
        // Beam's HDFS file system reads its Hadoop configuration from this option (or from
        // HADOOP_CONF_DIR): here only the NameNode's address
        "--hdfsConfiguration=[{\"fs.defaultFS\":\"" + nameNode + "\"}]"));
    PipelineOptionsFactory.register(QuantizeOptions.class);
    return PipelineOptionsFactory.fromArgs(args.toArray(String[]::new)).withValidation()
        .as(QuantizeOptions.class);
  }

  @Test
  void quantizeWithValidationAllOnHdfsGivesTheLocalRunsBytes() throws Exception {
    Path local = dir.resolve("local");
    JsonNode localReport = QuantizePipeline.run(options(model.toString(),
        MiniLm.tokenizer().toString(), calibration.toString(), data.toString(), local.toString()));
    String remote = nameNode + "/results/" + dir.getFileName() + "/out";
    JsonNode remoteReport = QuantizePipeline.run(options(hdfs(model), hdfs(MiniLm.tokenizer()),
        hdfs(calibration), hdfs(data), remote));

    Map<String, byte[]> a = files(local);
    Map<String, byte[]> b = hdfsFiles(remote);
    assertEquals(a.keySet(), b.keySet());
    for (String name : a.keySet()) {
      if (name.endsWith(".onnx") || name.endsWith(".qbct")) {
        assertArrayEquals(a.get(name), b.get(name), name);
      }
    }
    assertTrue(a.containsKey(Quantbeam.MODEL_FILE) && a.containsKey(Quantbeam.TABLE_FILE)
        && a.containsKey(QuantizePipeline.REPORT_FILE) && a.containsKey(Validation.HTML_FILE)
        && a.keySet().stream().anyMatch(n -> n.startsWith("candidates/")), a.keySet().toString());
    assertEquals(localReport.path("model").path("sha256"), remoteReport.path("model").path("sha256"));
    assertEquals(localReport.path("selected").path("name"), remoteReport.path("selected").path("name"));
    assertEquals(localReport.path("fp32").path("accuracy"), remoteReport.path("fp32").path("accuracy"));
    assertEquals(hdfs(model), remoteReport.path("model").path("source").path("path").asText());
    assertEquals(hdfs(MiniLm.tokenizer()), remoteReport.path("tokenizer").path("path").asText());
    assertEquals(remote + "/" + Quantbeam.MODEL_FILE, remoteReport.path("model").path("path").asText());
    assertTrue(new String(b.get(QuantizePipeline.REPORT_FILE), java.nio.charset.StandardCharsets.UTF_8)
        .contains(remote + "/candidates/"), "the report names the published candidates");
    assertFalse(new String(b.get(Validation.HTML_FILE), java.nio.charset.StandardCharsets.UTF_8)
        .contains(".pending-"), "the HTML report names no pending path");
    // nothing but the output folder is left beside it: the pending folder is gone
    assertEquals(List.of("out"), hdfsNames(HdfsParent.of(remote)));
  }

  @Test
  void aMissingHdfsModelIsAClearErrorAndWritesNothing() {
    Path out = dir.resolve("out");
    String missing = nameNode + "/in/nothing.onnx";
    QuantbeamException e = assertThrows(QuantbeamException.class, () -> QuantizePipeline.run(
        options(missing, hdfs(MiniLm.tokenizer()), hdfs(calibration), hdfs(data),
            out.toString())));
    assertTrue(e.getMessage().contains(missing + " does not exist"), e.getMessage());
    assertTrue(!Files.exists(out), "nothing written");
  }

  /** The files below an hdfs:// folder by relative name, read with Hadoop's own client. */
  static Map<String, byte[]> hdfsFiles(String folder) throws Exception {
    FileSystem fs = cluster.getFileSystem();
    org.apache.hadoop.fs.Path root = fs.makeQualified(new org.apache.hadoop.fs.Path(folder));
    Map<String, byte[]> m = new TreeMap<>();
    var it = fs.listFiles(root, true);
    while (it.hasNext()) {
      org.apache.hadoop.fs.Path f = it.next().getPath();
      try (var in = fs.open(f)) {
        m.put(f.toUri().getPath().substring(root.toUri().getPath().length() + 1), in.readAllBytes());
      }
    }
    return m;
  }

  static List<String> hdfsNames(String folder) throws Exception {
    List<String> names = new ArrayList<>();
    for (var st : cluster.getFileSystem().listStatus(new org.apache.hadoop.fs.Path(folder))) {
      names.add(st.getPath().getName());
    }
    return names;
  }

  /** The folder that holds an hdfs:// path. */
  static final class HdfsParent {
    static String of(String spec) {
      return new org.apache.hadoop.fs.Path(spec).getParent().toString();
    }
  }

  static Map<String, byte[]> files(Path out) throws Exception {
    Map<String, byte[]> m = new TreeMap<>();
    try (Stream<Path> s = Files.walk(out)) {
      for (Path f : s.filter(Files::isRegularFile).toList()) {
        m.put(out.relativize(f).toString(), Files.readAllBytes(f));
      }
    }
    return m;
  }
}
