package io.quantbeam.pipelines.flink;

import com.fasterxml.jackson.databind.JsonNode;
import io.quantbeam.core.QuantbeamException;
import io.quantbeam.pipelines.CommandLine.Command;
import io.quantbeam.pipelines.Commands;
import io.quantbeam.pipelines.Main;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;

/**
 * {@code quantbeam flink start|stop|status|submit}: a local standalone Flink 1.19.3 cluster from
 * {@code flink-conf/}, and pipelines submitted to it.
 *
 * <pre>
 * quantbeam flink start [--taskManagers=2] [--slots=2] [--restPort=8081] [--rpcPort=6123]
 *                       [--tmMemory=2560m]
 * quantbeam flink status
 * quantbeam flink submit quantize --model=... --tokenizer=... --calibrationData=... --output=...
 *                       [--parallelism=2] [--flinkMaster=localhost:8081]
 * quantbeam flink stop
 * </pre>
 */
public final class FlinkCommand {
  private FlinkCommand() {}

  public static void main(String[] args) {
    try {
      System.exit(run(Arrays.asList(args)));
    } catch (QuantbeamException e) {
      System.err.println("error: " + e.getMessage());
      System.exit(1);
    } catch (java.io.IOException e) {
      System.err.println("error: " + e);
      System.exit(1);
    }
  }

  static int run(List<String> args) throws java.io.IOException {
    if (args.isEmpty() || args.get(0).equals("help") || args.get(0).equals("--help")) {
      System.out.println(usage());
      return args.isEmpty() ? 2 : 0;
    }
    Path root = repoRoot();
    Path runDir = root.resolve("flink-conf/target/cluster");
    List<String> rest = args.subList(1, args.size());
    switch (args.get(0)) {
      case "start" -> {
        FlinkStartOptions o = Commands.FLINK_START.parseOrExit(rest);
        if (o.getSlots().size() != 1) {
          throw new QuantbeamException("flink start takes one --slots number (slots per"
              + " TaskManager), got " + o.getSlots());
        }
        FlinkCluster.Settings s = FlinkCluster.Settings.defaults(root)
            .withTaskManagers(o.getTaskManagers(), o.getSlots().get(0))
            .withPorts(o.getRestPort(), o.getRpcPort())
            .withTaskManagerMemory(o.getTmMemory());
        FlinkCluster c = FlinkCluster.start(s);
        Files.writeString(runDir.resolve("rest-address"), c.restAddress() + "\n");
        System.out.println("Flink 1.19.3 cluster running: 1 JobManager, " + s.taskManagers()
            + " TaskManagers x " + s.slotsPerTaskManager() + " slots; web UI " + c.webUrl()
            + "; PIDs " + c.processes().stream().map(ProcessHandle::pid).toList() + "; logs "
            + c.logDir());
        System.out.println("Submit with: ./quantbeam flink submit quantize ... --parallelism=N"
            + " (or any command with --runner=FlinkRunner --flinkMaster=" + c.restAddress()
            + "). Stop with: ./quantbeam flink stop");
        return 0;
      }
      case "stop" -> {
        List<Long> pids = FlinkCluster.stop(runDir);
        System.out.println(pids.isEmpty() ? "No Flink cluster of " + runDir + " was running."
            : "Stopped Flink processes " + pids + ".");
        return 0;
      }
      case "status" -> {
        List<ProcessHandle> procs = FlinkCluster.runningProcesses(runDir);
        String address = address(runDir);
        Optional<JsonNode> o = FlinkCluster.overview(address);
        if (procs.isEmpty() && o.isEmpty()) {
          System.out.println("No Flink cluster running (nothing answers at http://" + address
              + "). Start one with: ./quantbeam flink start");
          return 3;
        }
        System.out.println("processes: " + procs.stream().map(ProcessHandle::pid).toList());
        o.ifPresentOrElse(ov -> System.out.println("http://" + address + ": Flink "
                + ov.path("flink-version").asText() + ", " + ov.path("taskmanagers").asInt()
                + " TaskManagers, slots " + ov.path("slots-available").asInt() + " free of "
                + ov.path("slots-total").asInt() + ", jobs running "
                + ov.path("jobs-running").asInt() + ", finished "
                + ov.path("jobs-finished").asInt() + ", failed " + ov.path("jobs-failed").asInt()),
            () -> System.out.println("nothing answers at http://" + address));
        return 0;
      }
      case "submit" -> {
        if (rest.isEmpty()) {
          System.err.println(usage());
          return 2;
        }
        // --help: the command prints its own options; nothing is checked or submitted
        boolean help = rest.contains("--help");
        List<String> pipelineArgs = help ? rest.subList(1, rest.size())
            : FlinkSubmit.withFlinkDefaults(rest.subList(1, rest.size()), address(runDir));
        if (!help && rest.get(0).equals("quantize")) {
          JsonNode report = FlinkSubmit.quantize(pipelineArgs);
          System.out.println("Wrote " + report.path("model").path("path").asText() + " (sha256 "
              + report.path("model").path("sha256").asText() + "), calibration "
              + report.path("calibration").path("examples").asLong() + " examples in "
              + String.format(java.util.Locale.ROOT, "%.1f s",
                  report.path("calibration").path("seconds").asDouble()));
          return 0;
        }
        if (!help) {
          FlinkSubmit.check(pipelineArgs, List.of("io.quantbeam.pipelines.Main"));
        }
        List<String> all = new ArrayList<>(rest.subList(0, 1));
        all.addAll(pipelineArgs);
        try {
          Main.main(all.toArray(String[]::new));
        } catch (RuntimeException e) {
          throw FlinkSubmit.explain(e, pipelineArgs);
        } catch (Exception e) {
          throw new QuantbeamException("The job failed: " + e, e);
        }
        return 0;
      }
      default -> {
        System.err.println("unknown flink command '" + args.get(0) + "'\n" + usage());
        return 2;
      }
    }
  }

  static String usage() {
    return Stream.of(Commands.FLINK_START, Commands.FLINK_STATUS, Commands.FLINK_SUBMIT,
        Commands.FLINK_STOP).map(Command::usageLine).collect(Collectors.joining("\n"))
        + "\n(quantbeam flink start --help: its options)";
  }

  /** The REST address the last {@code flink start} used, else localhost:8081. */
  static String address(Path runDir) {
    try {
      Path f = runDir.resolve("rest-address");
      return Files.exists(f) ? Files.readString(f).trim() : "localhost:8081";
    } catch (java.io.IOException e) {
      return "localhost:8081";
    }
  }

  static Path repoRoot() {
    String home = Optional.ofNullable(System.getProperty("quantbeam.repo"))
        .orElse(System.getenv("QUANTBEAM_HOME"));
    Path root = Path.of(home != null ? home : ".").toAbsolutePath().normalize();
    if (!Files.isRegularFile(root.resolve("flink-conf/config.yaml"))) {
      throw new QuantbeamException("No flink-conf/config.yaml under " + root + ": run ./quantbeam"
          + " from a Quantbeam checkout (or set QUANTBEAM_HOME to one).");
    }
    return root;
  }

  /** Options of {@code quantbeam flink start}. */
  public interface FlinkStartOptions extends PipelineOptions {
    @Description("TaskManager processes")
    @Default.Integer(2)
    int getTaskManagers();

    void setTaskManagers(int value);

    // a list, as bench flink's --slots is: one option name has one type across the commands
    @Description("Task slots per TaskManager (one number)")
    List<Integer> getSlots();

    void setSlots(List<Integer> value);

    @Description("The JobManager's REST port (web UI)")
    @Default.Integer(8081)
    int getRestPort();

    void setRestPort(int value);

    @Description("The JobManager's RPC port")
    @Default.Integer(6123)
    int getRpcPort();

    void setRpcPort(int value);

    @Description("Process memory per TaskManager, e.g. 2560m (default: flink-conf/config.yaml's)")
    String getTmMemory();

    void setTmMemory(String value);
  }
}
