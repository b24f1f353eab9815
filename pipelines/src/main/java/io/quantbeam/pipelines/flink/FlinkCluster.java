package io.quantbeam.pipelines.flink;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quantbeam.core.QuantbeamException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A local standalone Flink 1.19 session cluster: one JobManager and N TaskManagers as child
 * processes of this JVM, started from the Maven-resolved jars in {@code flink-conf/target/flink-lib}
 * (no Flink tarball) with a configuration generated from {@code flink-conf/config.yaml}.
 *
 * <p>Everything lives in a run folder: {@code conf/} (the generated config.yaml and the log4j
 * file), {@code log/} (one log and one .out file per process), {@code tmp/} and {@code pid/} (one
 * file per process). {@link #stop} stops what the pid files name, after checking that each process
 * is one of this cluster's (its command line names this run folder's conf dir): SIGTERM, then
 * SIGKILL after a grace period. An attached cluster (tests, the benchmark) also stops from a JVM
 * shutdown hook; a detached one ({@code ./quantbeam flink start}) outlives the launcher.
 */
public final class FlinkCluster implements AutoCloseable {
  static final String JM_CLASS =
      "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint";
  static final String TM_CLASS = "org.apache.flink.runtime.taskexecutor.TaskManagerRunner";
  static final String UTILS_CLASS = "org.apache.flink.runtime.util.bash.BashJavaUtils";
  private static final String RESULT_PREFIX = "BASH_JAVA_UTILS_EXEC_RESULT:";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder()
      .connectTimeout(Duration.ofSeconds(3)).build();

  /** How to start a cluster. */
  public record Settings(Path repoRoot, Path runDir, int taskManagers, int slotsPerTaskManager,
      int restPort, int rpcPort, String taskManagerMemory, Map<String, String> extraConfig,
      Duration startTimeout, boolean attached) {

    /** The launcher's defaults: 2 TaskManagers x 2 slots, REST on 8081, detached. */
    public static Settings defaults(Path repoRoot) {
      return new Settings(repoRoot, repoRoot.resolve("flink-conf/target/cluster"), 2, 2, 8081,
          6123, null, Map.of(), Duration.ofSeconds(180), false);
    }

    public Settings withTaskManagers(int n, int slots) {
      return new Settings(repoRoot, runDir, n, slots, restPort, rpcPort, taskManagerMemory,
          extraConfig, startTimeout, attached);
    }

    public Settings withPorts(int rest, int rpc) {
      return new Settings(repoRoot, runDir, taskManagers, slotsPerTaskManager, rest, rpc,
          taskManagerMemory, extraConfig, startTimeout, attached);
    }

    public Settings withRunDir(Path dir) {
      return new Settings(repoRoot, dir, taskManagers, slotsPerTaskManager, restPort, rpcPort,
          taskManagerMemory, extraConfig, startTimeout, attached);
    }

    public Settings withTaskManagerMemory(String size) {
      return new Settings(repoRoot, runDir, taskManagers, slotsPerTaskManager, restPort, rpcPort,
          size, extraConfig, startTimeout, attached);
    }

    public Settings withConfig(Map<String, String> extra) {
      return new Settings(repoRoot, runDir, taskManagers, slotsPerTaskManager, restPort, rpcPort,
          taskManagerMemory, Map.copyOf(extra), startTimeout, attached);
    }

    /** Attached: stopped by a JVM shutdown hook when this JVM ends. */
    public Settings attached(boolean value) {
      return new Settings(repoRoot, runDir, taskManagers, slotsPerTaskManager, restPort, rpcPort,
          taskManagerMemory, extraConfig, startTimeout, value);
    }
  }

  private final Settings settings;
  private final Path confDir;
  private final Path logDir;
  private final Path pidDir;
  private final List<String> tmCommand;
  private final List<ProcessHandle> taskManagers = new ArrayList<>();
  private ProcessHandle jobManager;
  private Thread shutdownHook;
  private int nextTaskManager = 1;

  private FlinkCluster(Settings settings, List<String> tmCommand) {
    this.settings = settings;
    this.confDir = settings.runDir().resolve("conf");
    this.logDir = settings.runDir().resolve("log");
    this.pidDir = settings.runDir().resolve("pid");
    this.tmCommand = tmCommand;
  }

  /**
   * Starts a JobManager and the TaskManagers and returns once the REST API reports every
   * TaskManager and slot. On any failure everything started is stopped before the exception.
   */
  public static FlinkCluster start(Settings s) {
    if (s.taskManagers() < 1 || s.slotsPerTaskManager() < 1) {
      throw new QuantbeamException("A Flink cluster needs at least 1 TaskManager with 1 slot (got "
          + s.taskManagers() + " x " + s.slotsPerTaskManager() + ").");
    }
    List<ProcessHandle> running = runningProcesses(s.runDir());
    if (!running.isEmpty()) {
      throw new QuantbeamException("A Flink cluster from " + s.runDir() + " is already running (PIDs "
          + running.stream().map(p -> String.valueOf(p.pid())).toList() + "). Stop it first:"
          + " ./quantbeam flink stop");
    }
    requireFreePort(s.restPort(), "rest.port, the REST API and web UI", "--restPort");
    requireFreePort(s.rpcPort(), "jobmanager.rpc.port", "--rpcPort");
    Path lib = FlinkLib.ensure(s.repoRoot());
    Path confDir = s.runDir().resolve("conf");
    Map<String, String> config = writeConfig(s, confDir);
    String javaOpts = config.getOrDefault("env.java.opts.all", "");
    String jmOpts = javaOpts + " " + config.getOrDefault("env.java.opts.jobmanager", "");
    String tmOpts = javaOpts + " " + config.getOrDefault("env.java.opts.taskmanager", "");
    String classpath = lib.toAbsolutePath() + "/*";

    // memory settings resolved the way Flink's own scripts do, one helper JVM per role
    CompletableFuture<List<String>> jmParams = CompletableFuture.supplyAsync(
        () -> resourceParams(classpath, confDir, "GET_JM_RESOURCE_PARAMS"));
    List<String> tmParams = resourceParams(classpath, confDir, "GET_TM_RESOURCE_PARAMS");
    List<String> jm = jmParams.join();

    List<String> jmCommand = javaCommand(jmOpts, jm.get(0), classpath, confDir, JM_CLASS,
        jm.size() > 1 ? jm.get(1) : "");
    List<String> tmCommand = javaCommand(tmOpts, tmParams.get(0), classpath, confDir, TM_CLASS,
        tmParams.size() > 1 ? tmParams.get(1) : "");
    FlinkCluster cluster = new FlinkCluster(s, tmCommand);
    try {
      Files.createDirectories(cluster.logDir);
      Files.createDirectories(cluster.pidDir);
      if (s.attached()) {
        cluster.shutdownHook = new Thread(cluster::stopQuietly, "flink-cluster-stop");
        Runtime.getRuntime().addShutdownHook(cluster.shutdownHook);
      }
      cluster.jobManager = cluster.launch(jmCommand, "jobmanager");
      for (int i = 0; i < s.taskManagers(); i++) {
        cluster.startTaskManager();
      }
      cluster.awaitReady();
      return cluster;
    } catch (IOException e) {
      cluster.stopQuietly();
      throw new QuantbeamException("Cannot start the Flink cluster in " + s.runDir() + ": " + e, e);
    } catch (RuntimeException e) {
      cluster.stopQuietly();
      throw e;
    }
  }

  /** Starts one more TaskManager (also after {@link #killTaskManager}); does not wait for it. */
  public synchronized ProcessHandle startTaskManager() {
    ProcessHandle tm = launch(tmCommand, "taskmanager-" + nextTaskManager++);
    taskManagers.add(tm);
    return tm;
  }

  /** SIGKILL of one TaskManager, as a machine failure would do; returns its PID. */
  public synchronized long killTaskManager(int index) {
    ProcessHandle tm = taskManagers.get(index);
    tm.destroyForcibly();
    try {
      tm.onExit().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new QuantbeamException("TaskManager PID " + tm.pid() + " did not die: " + e, e);
    }
    return tm.pid();
  }

  public String restAddress() {
    return "localhost:" + settings.restPort();
  }

  public String webUrl() {
    return "http://" + restAddress();
  }

  public Path runDir() {
    return settings.runDir();
  }

  public Path logDir() {
    return logDir;
  }

  /** The JobManager and TaskManagers started, in that order. */
  public synchronized List<ProcessHandle> processes() {
    List<ProcessHandle> all = new ArrayList<>();
    if (jobManager != null) {
      all.add(jobManager);
    }
    all.addAll(taskManagers);
    return all;
  }

  public synchronized List<ProcessHandle> taskManagers() {
    return List.copyOf(taskManagers);
  }

  /** {@code GET /path} on the REST API. */
  public JsonNode rest(String path) {
    return rest(restAddress(), path);
  }

  /** Stops every process (also when called twice); nothing of this cluster runs afterwards. */
  @Override
  public void close() {
    stop();
  }

  public synchronized void stop() {
    stop(settings.runDir());
    if (shutdownHook != null) {
      try {
        Runtime.getRuntime().removeShutdownHook(shutdownHook);
      } catch (IllegalStateException e) {
        // the JVM is shutting down: the hook is running this
      }
      shutdownHook = null;
    }
  }

  private void stopQuietly() {
    try {
      stop(settings.runDir());
    } catch (RuntimeException e) {
      System.err.println("flink: stopping " + settings.runDir() + ": " + e);
    }
  }

  // ---------------------------------------------------------------- run folder, processes

  /**
   * Stops the processes of the cluster whose run folder is {@code runDir}, TaskManagers first;
   * returns their PIDs. SIGTERM, then SIGKILL for any still alive after 15 s.
   */
  public static List<Long> stop(Path runDir) {
    List<ProcessHandle> procs = runningProcesses(runDir);
    procs.sort((a, b) -> Boolean.compare(isJobManager(a), isJobManager(b)));
    List<Long> stopped = new ArrayList<>();
    for (ProcessHandle p : procs) {
      p.destroy();
      stopped.add(p.pid());
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    for (ProcessHandle p : procs) {
      try {
        long left = Math.max(1, deadline - System.nanoTime());
        p.onExit().get(left, TimeUnit.NANOSECONDS);
      } catch (Exception e) {
        p.destroyForcibly();
      }
    }
    for (ProcessHandle p : procs) {
      try {
        p.onExit().get(15, TimeUnit.SECONDS);
      } catch (Exception e) {
        throw new QuantbeamException("Flink process PID " + p.pid() + " survived SIGKILL; stop it"
            + " by hand: kill -9 " + p.pid());
      }
    }
    Path pidDir = runDir.resolve("pid");
    if (Files.isDirectory(pidDir)) {
      try (Stream<Path> files = Files.list(pidDir)) {
        for (Path f : files.toList()) {
          Files.deleteIfExists(f);
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return stopped;
  }

  /**
   * The live processes the pid files of {@code runDir} name and that are this run folder's (the
   * conf dir on their command line): a recycled PID is never touched.
   */
  public static List<ProcessHandle> runningProcesses(Path runDir) {
    Path pidDir = runDir.resolve("pid");
    List<ProcessHandle> out = new ArrayList<>();
    if (!Files.isDirectory(pidDir)) {
      return out;
    }
    String conf = runDir.resolve("conf").toAbsolutePath().toString();
    try (Stream<Path> files = Files.list(pidDir)) {
      for (Path f : files.sorted().toList()) {
        if (!f.getFileName().toString().endsWith(".pid")) {
          continue;
        }
        long pid;
        try {
          pid = Long.parseLong(Files.readString(f).trim());
        } catch (NumberFormatException e) {
          continue;
        }
        ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
            .filter(p -> p.info().commandLine().map(c -> c.contains(conf)).orElse(false))
            .ifPresent(out::add);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  private static boolean isJobManager(ProcessHandle p) {
    return p.info().commandLine().map(c -> c.contains(JM_CLASS)).orElse(false);
  }

  private ProcessHandle launch(List<String> command, String name) {
    try {
      Path log = logDir.resolve(name + ".log");
      Path out = logDir.resolve(name + ".out");
      List<String> cmd = new ArrayList<>(command);
      // the log file goes in after "java": a system property per process
      cmd.add(1, "-Dlog.file=" + log.toAbsolutePath());
      Process p = new ProcessBuilder(cmd)
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(out.toFile()))
          .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
          .start();
      Files.writeString(pidDir.resolve(name + ".pid"), p.pid() + "\n");
      return p.toHandle();
    } catch (IOException e) {
      throw new QuantbeamException("Cannot start the Flink " + name + ": " + e, e);
    }
  }

  private void awaitReady() {
    long deadline = System.nanoTime() + settings.startTimeout().toNanos();
    int wantSlots = settings.taskManagers() * settings.slotsPerTaskManager();
    String last = "no answer yet";
    while (System.nanoTime() < deadline) {
      for (ProcessHandle p : processes()) {
        if (!p.isAlive()) {
          throw new QuantbeamException("A Flink process (PID " + p.pid() + ") exited while the"
              + " cluster was starting; everything was stopped. Its log ends with:\n"
              + logTail(p) + "\nLogs: " + logDir);
        }
      }
      try {
        JsonNode o = rest("/overview");
        last = o.toString();
        if (o.path("taskmanagers").asInt() == settings.taskManagers()
            && o.path("slots-total").asInt() == wantSlots) {
          return;
        }
      } catch (QuantbeamException e) {
        last = e.getMessage();
      }
      sleep(500);
    }
    throw new QuantbeamException("The Flink cluster did not report " + settings.taskManagers()
        + " TaskManagers with " + wantSlots + " slots within " + settings.startTimeout().toSeconds()
        + " s (last: " + last + "); everything was stopped. Logs: " + logDir);
  }

  private String logTail(ProcessHandle p) {
    try (Stream<Path> files = Files.list(pidDir)) {
      for (Path f : files.toList()) {
        if (Files.readString(f).trim().equals(String.valueOf(p.pid()))) {
          String name = f.getFileName().toString().replace(".pid", "");
          StringBuilder sb = new StringBuilder();
          for (String ext : new String[] {".out", ".log"}) {
            Path file = logDir.resolve(name + ext);
            if (Files.exists(file)) {
              List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
              lines.stream().skip(Math.max(0, lines.size() - 15))
                  .forEach(l -> sb.append("  ").append(l).append('\n'));
            }
          }
          return sb.toString();
        }
      }
    } catch (IOException e) {
      return "(cannot read the logs: " + e + ")";
    }
    return "(no log)";
  }

  // ---------------------------------------------------------------- configuration

  /** flink-conf/config.yaml with this cluster's ports, slots, memory and folders. */
  static Map<String, String> writeConfig(Settings s, Path confDir) {
    Path template = s.repoRoot().resolve("flink-conf/config.yaml");
    Path log4j = s.repoRoot().resolve("flink-conf/log4j2.properties");
    try {
      Map<String, String> config = readFlatYaml(template);
      Path tmp = s.runDir().resolve("tmp").toAbsolutePath();
      Files.createDirectories(tmp);
      Files.createDirectories(confDir);
      config.put("rest.port", String.valueOf(s.restPort()));
      config.put("jobmanager.rpc.port", String.valueOf(s.rpcPort()));
      config.put("taskmanager.numberOfTaskSlots", String.valueOf(s.slotsPerTaskManager()));
      config.put("io.tmp.dirs", tmp.toString());
      config.put("web.tmpdir", tmp.resolve("web").toString());
      config.put("blob.storage.directory", tmp.resolve("blob").toString());
      if (s.taskManagerMemory() != null) {
        config.put("taskmanager.memory.process.size", s.taskManagerMemory());
      }
      config.putAll(s.extraConfig());
      StringBuilder yaml = new StringBuilder("# generated from " + template
          + " by FlinkCluster; edit that file, not this one\n");
      config.forEach((k, v) -> yaml.append(k).append(": ").append(v).append('\n'));
      Files.writeString(confDir.resolve("config.yaml"), yaml);
      Files.copy(log4j, confDir.resolve("log4j2.properties"),
          java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      return config;
    } catch (IOException e) {
      throw new QuantbeamException("Cannot write the Flink configuration into " + confDir + ": "
          + e + ". Check that the folder is writable.", e);
    }
  }

  /** The {@code key: value} lines of a flat YAML file, in order (comments and blanks dropped). */
  static Map<String, String> readFlatYaml(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new QuantbeamException("No Flink configuration at " + file + ": run from a Quantbeam"
          + " checkout (flink-conf/config.yaml is part of it).");
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      String t = line.strip();
      if (t.isEmpty() || t.startsWith("#")) {
        continue;
      }
      int colon = t.indexOf(": ");
      if (colon <= 0) {
        throw new QuantbeamException("Cannot read line '" + t + "' of " + file
            + ": expected a flat 'key: value' line.");
      }
      out.put(t.substring(0, colon).strip(), t.substring(colon + 2).strip());
    }
    return out;
  }

  /** JVM flags and dynamic properties for a role, from Flink's BashJavaUtils (as its scripts do). */
  private static List<String> resourceParams(String classpath, Path confDir, String command) {
    List<String> cmd = List.of(javaBin(), "-cp", classpath, UTILS_CLASS, command, "--configDir",
        confDir.toAbsolutePath().toString());
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new QuantbeamException("Flink could not work out the " + command + " memory settings"
            + " from " + confDir.resolve("config.yaml") + ":\n" + out
            + "\nCheck the memory sizes in flink-conf/config.yaml (or --tmMemory).");
      }
      List<String> results = out.lines().filter(l -> l.startsWith(RESULT_PREFIX))
          .map(l -> l.substring(RESULT_PREFIX.length()).strip()).toList();
      if (results.isEmpty()) {
        throw new QuantbeamException("Unexpected output of Flink's " + command + ":\n" + out);
      }
      return results;
    } catch (IOException e) {
      throw new QuantbeamException("Cannot run java to prepare the Flink cluster: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new QuantbeamException("Interrupted while preparing the Flink cluster", e);
    }
  }

  private static List<String> javaCommand(String javaOpts, String jvmParams, String classpath,
      Path confDir, String mainClass, String dynamicProperties) {
    List<String> cmd = new ArrayList<>();
    cmd.add(javaBin());
    cmd.addAll(words(javaOpts));
    cmd.addAll(words(jvmParams));
    cmd.add("-Dlog4j.configurationFile=file:"
        + confDir.resolve("log4j2.properties").toAbsolutePath());
    cmd.add("-Dlog4j2.formatMsgNoLookups=true");
    cmd.add("-cp");
    cmd.add(classpath);
    cmd.add(mainClass);
    cmd.add("--configDir");
    cmd.add(confDir.toAbsolutePath().toString());
    cmd.addAll(words(dynamicProperties));
    return cmd;
  }

  private static List<String> words(String s) {
    return s == null || s.isBlank() ? List.of()
        : Arrays.stream(s.trim().split("\\s+")).toList();
  }

  static String javaBin() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  // ---------------------------------------------------------------- REST and ports

  /** {@code GET http://address/path}; a clear error when nothing answers there. */
  public static JsonNode rest(String address, String path) {
    URI uri = URI.create("http://" + address + path);
    try {
      HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(uri)
          .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) {
        throw new QuantbeamException("Flink REST " + uri + " answered HTTP " + r.statusCode() + ": "
            + r.body());
      }
      return JSON.readTree(r.body());
    } catch (ConnectException e) {
      throw new QuantbeamException("No Flink cluster answers at " + uri.getScheme() + "://"
          + address + " (connection refused). Start one with ./quantbeam flink start, or pass"
          + " --flinkMaster=host:restPort of a running cluster, or --flinkMaster=[local] to run"
          + " in this JVM.", e);
    } catch (IOException e) {
      throw new QuantbeamException("No Flink cluster answers at http://" + address + " (" + e
          + "). Start one with ./quantbeam flink start, or check --flinkMaster.", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new QuantbeamException("Interrupted while calling " + uri, e);
    }
  }

  /** Whether something answers Flink's /overview at {@code address}. */
  public static Optional<JsonNode> overview(String address) {
    try {
      return Optional.of(rest(address, "/overview"));
    } catch (QuantbeamException e) {
      return Optional.empty();
    }
  }

  static void requireFreePort(int port, String what, String option) {
    if (port == 0) {
      return;
    }
    try (ServerSocket socket = new ServerSocket()) {
      socket.setReuseAddress(true);
      socket.bind(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), port));
    } catch (IOException e) {
      throw new QuantbeamException("Cannot start the Flink cluster: port " + port + " (" + what
          + ") on localhost is already in use. Is another Flink cluster running"
          + " (./quantbeam flink status)? Stop what holds the port or choose another with "
          + option + "=PORT. Nothing was started.");
    }
  }

  /** A port that was free a moment ago (for tests). */
  public static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new QuantbeamException("Interrupted while waiting for the Flink cluster", e);
    }
  }
}
