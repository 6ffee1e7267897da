/**
 * Moves the lines of the files in an FTP folder to one file on an SFTP server, deleting each FTP
 * file once all its lines were written (FTPSource mode p):
 *
 *   bspump.ftp.FTPSource → bspump.ssh.SFTPSink
 *
 *   node --import tsx examples/ftp-to-sftp.ts [ftp://user:password@host:port/folder] [sftp://user:password@host:port/folder/file]
 *
 * The defaults are the test servers of scripts/services (ftp and ssh): it reads /outgoing on
 * 127.0.0.1:2121 at start and every 10 s and appends to /upload/collected.log on 127.0.0.1:2222, until Ctrl-C.
 */
import { posix } from "node:path";
import * as bspump from "../src/index.js";

const ftp = new URL(process.argv[2] ?? "ftp://bspump:bspump@127.0.0.1:2121/outgoing");
const sftp = new URL(process.argv[3] ?? "sftp://bspump:bspump@127.0.0.1:2222/upload/collected.log");

const app = new bspump.BSPumpApplication({ args: process.argv.slice(4) });
const svc = app.getService<bspump.PumpService>("bspump.PumpService");
svc.addConnection(
  new bspump.ftp.FTPConnection(app, "FTP", {
    config: { hostname: ftp.hostname, port: Number(ftp.port || 21), username: decodeURIComponent(ftp.username), password: decodeURIComponent(ftp.password) },
  }),
);
svc.addConnection(
  new bspump.ssh.SSHConnection(app, "SSH", {
    config: { host: sftp.hostname, port: Number(sftp.port || 22), user: decodeURIComponent(sftp.username), password: decodeURIComponent(sftp.password) },
  }),
);

/** Gives each line its "\n" back: the sink writes events as they are. */
class NewlineProcessor extends bspump.Processor {
  process(_context: bspump.EventContext, line: unknown): string {
    return `${String(line)}\n`;
  }
}

class MovePipeline extends bspump.Pipeline {
  constructor(app: bspump.Application, id?: string) {
    super(app, id);
    this.build(
      new bspump.ftp.FTPSource(app, this, "FTP", { config: { remote_path: ftp.pathname || "/", mode: "p", framing: "line", encoding: "utf-8" } })
        .on(new bspump.RunOnceTrigger(app))
        .on(new bspump.PeriodicTrigger(app, 10)),
      new NewlineProcessor(app, this),
      new bspump.ssh.SFTPSink(app, this, "SSH", { config: { remote_path: posix.dirname(sftp.pathname), filename: posix.basename(sftp.pathname), mode: "a" } }),
    );
  }
}

svc.addPipeline(new MovePipeline(app, "Move"));
process.exitCode = await app.run();
