package io.quantbeam.transforms;

import java.io.IOException;
import java.io.Serializable;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.EmptyMatchTreatment;
import org.apache.beam.sdk.io.fs.MatchResult;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.Reshuffle;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;

/**
 * A tiny job run before any work on a cluster: its workers match every input path through
 * {@link FileSystems} and report those they cannot see, one line per option, spec and worker
 * host ({@code --model<TAB>/home/me/model.onnx<TAB>host-b}). A path on the client's own disk
 * passes on the client and fails here, on a worker of another host, so the driver can name the
 * option and the fix before calibrating.
 *
 * <p>The probes are {@code copies} elements per path, spread by a reshuffle: enough to reach
 * every worker of a small cluster, but a runner decides where elements go, so this is a check
 * that finds most such mistakes early, not a proof that every worker sees every file.
 */
public final class ProbeWorkerPaths extends PTransform<PBegin, PCollection<String>> {
  private final Map<String, String> specsByOption;
  private final int copies;

  private ProbeWorkerPaths(Map<String, String> specsByOption, int copies) {
    this.specsByOption = specsByOption;
    this.copies = copies;
  }

  /** @param specsByOption option name ({@code --model}) to the spec or pattern it names */
  public static ProbeWorkerPaths of(Map<String, String> specsByOption, int copies) {
    return new ProbeWorkerPaths(Map.copyOf(specsByOption), Math.max(1, copies));
  }

  @Override
  public PCollection<String> expand(PBegin begin) {
    List<KV<Integer, KV<String, String>>> probes = new ArrayList<>();
    for (int i = 0; i < copies; i++) {
      for (Map.Entry<String, String> e : new java.util.TreeMap<>(specsByOption).entrySet()) {
        probes.add(KV.of(i, KV.of(e.getKey(), e.getValue())));
      }
    }
    return begin
        .apply("Probes", Create.of(probes).withCoder(KvCoder.of(VarIntCoder.of(),
            KvCoder.of(StringUtf8Coder.of(), StringUtf8Coder.of()))))
        .apply("Spread", Reshuffle.viaRandomKey())
        .apply("MatchOnWorker", ParDo.of(new MatchFn()))
        .setCoder(StringUtf8Coder.of());
  }

  /** Matches one spec on the worker; emits it when nothing matches or the match fails. */
  static final class MatchFn extends DoFn<KV<Integer, KV<String, String>>, String>
      implements Serializable {
    @ProcessElement
    public void process(@Element KV<Integer, KV<String, String>> probe,
        OutputReceiver<String> out) {
      String option = probe.getValue().getKey();
      String spec = probe.getValue().getValue();
      String problem = null;
      try {
        MatchResult m = FileSystems.match(spec, EmptyMatchTreatment.ALLOW);
        if (m.status() != MatchResult.Status.OK || m.metadata().isEmpty()) {
          problem = "no such file";
        }
      } catch (IOException | RuntimeException e) {
        problem = e.toString();
      }
      if (problem != null) {
        out.output(option + "\t" + spec + "\t" + host() + "\t" + problem);
      }
    }

    private static String host() {
      try {
        return InetAddress.getLocalHost().getHostName();
      } catch (IOException e) {
        return "an unnamed host";
      }
    }
  }
}
