package io.quantbeam.core.validate;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * A small per-process cache of open {@link ModelRunner}s keyed by the model's SHA-256, so that a
 * worker holds one session per model however many shards it validates. At most {@code capacity}
 * idle sessions are kept: the least recently used idle one is closed first; a session in use is
 * never closed.
 */
public final class SessionCache {
  private final int capacity;
  private final Map<String, Entry> entries = new LinkedHashMap<>(16, 0.75f, true);

  private static final class Entry {
    final ModelRunner runner;
    int users;

    Entry(ModelRunner runner) {
      this.runner = runner;
    }
  }

  public SessionCache(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be >= 1, got " + capacity);
    }
    this.capacity = capacity;
  }

  /** The runner for {@code key}, opened by {@code open} when absent; give it back with release. */
  public ModelRunner acquire(String key, Supplier<ModelRunner> open) {
    synchronized (this) {
      Entry e = entries.get(key);
      if (e != null) {
        e.users++;
        return e.runner;
      }
    }
    ModelRunner fresh = open.get(); // outside the lock: opening takes seconds
    List<ModelRunner> toClose = new ArrayList<>();
    ModelRunner result;
    synchronized (this) {
      Entry e = entries.get(key);
      if (e != null) {
        toClose.add(fresh);
      } else {
        e = new Entry(fresh);
        entries.put(key, e);
      }
      e.users++;
      result = e.runner;
      evict(toClose);
    }
    toClose.forEach(ModelRunner::close);
    return result;
  }

  public void release(String key) {
    List<ModelRunner> toClose = new ArrayList<>();
    synchronized (this) {
      Entry e = entries.get(key);
      if (e != null && e.users > 0) {
        e.users--;
      }
      evict(toClose);
    }
    toClose.forEach(ModelRunner::close);
  }

  private void evict(List<ModelRunner> toClose) {
    evict(toClose, capacity);
  }

  /** Moves idle sessions, least recently used first, to toClose until at most keep remain. */
  private void evict(List<ModelRunner> toClose, int keep) {
    var it = entries.entrySet().iterator();
    while (entries.size() > keep && it.hasNext()) {
      Entry e = it.next().getValue();
      if (e.users == 0) {
        toClose.add(e.runner);
        it.remove();
      }
    }
  }

  /** Closes every idle session (none in use is touched); returns how many were closed. */
  public int closeIdle() {
    List<ModelRunner> toClose = new ArrayList<>();
    synchronized (this) {
      evict(toClose, 0);
    }
    toClose.forEach(ModelRunner::close);
    return toClose.size();
  }

  public synchronized int open() {
    return entries.size();
  }
}
