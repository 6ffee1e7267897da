/**
 * A Kafka broker of a test's own (its own ports and data directory, from the same jars and
 * settings as the shared one), for tests that stop and start the broker without disturbing the
 * others.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { kafkaTool } from "./tools.js";

const REPO = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const SERVICES = process.env.BSPUMP_SERVICES_DIR ?? join(REPO, ".services");

export class TestBroker {
  readonly dir = mkdtempSync(join(tmpdir(), "bspump-broker-"));
  readonly address: string;
  private child: ChildProcess | null = null;
  private formatted = false;

  constructor(readonly port: number) {
    this.address = `127.0.0.1:${port}`;
    const template = readFileSync(join(REPO, "scripts", "services", "kafka", "server.properties"), "utf8");
    writeFileSync(
      join(this.dir, "server.properties"),
      template.replaceAll("9092", String(port)).replaceAll("9093", String(port + 1)).replaceAll("@LOG_DIRS@", join(this.dir, "data")),
    );
  }

  /** Starts the broker and resolves when it serves clients. */
  async start(): Promise<void> {
    const props = join(this.dir, "server.properties");
    if (!this.formatted) {
      const id = (await kafkaTool("kafka.tools.StorageTool", ["random-uuid"])).trim();
      await kafkaTool("kafka.tools.StorageTool", ["format", "--standalone", "-t", id, "-c", props]);
      this.formatted = true;
    }
    const child = spawn(
      "java",
      ["-Xms128m", "-Xmx512m", "-XX:+UseG1GC", `-Dlog4j2.configurationFile=${join(REPO, "scripts", "services", "kafka", "log4j2.properties")}`, "-cp", join(SERVICES, "kafka", "libs", "*"), "kafka.Kafka", props],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    this.child = child;
    let log = "";
    await new Promise<void>((resolvePromise, reject) => {
      const timer = setTimeout(() => reject(new Error(`broker on ${this.port} did not start in 120 s: ${log.slice(-2000)}`)), 120_000);
      child.stdout!.on("data", (d: Buffer) => {
        log = (log + d.toString()).slice(-20_000);
        if (log.includes("Kafka Server started")) {
          clearTimeout(timer);
          resolvePromise();
        }
      });
      child.stderr!.on("data", (d: Buffer) => (log = (log + d.toString()).slice(-20_000)));
      child.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`broker on ${this.port} exited with ${code}: ${log.slice(-2000)}`));
      });
    });
    child.removeAllListeners("exit");
  }

  /** Stops the broker (SIGTERM: a controlled shutdown) and waits for it to exit. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (child === null || child.exitCode !== null) return;
    await new Promise<void>((resolvePromise) => {
      const kill = setTimeout(() => child.kill("SIGKILL"), 60_000);
      child.once("exit", () => {
        clearTimeout(kill);
        resolvePromise();
      });
      child.kill("SIGTERM");
    });
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
