// SPDX-License-Identifier: GPL-3.0-or-later
//
// The DCC's own DUIS signing tool (dccboxed-signing-tool, the jar @smartdcc/duis-sign-wrap
// ships) kept running, so a catalogue run pays for Java's start once rather than once per
// signature (~0.5-1 s each). Each request calls the tool's own Sign or Validate entry point
// with the document as its stdin, exactly as duis-sign-wrap's one-shot `java ... Sign -`
// does; only the process is reused.
//
// Run with the jar on the class path (Java's single-file source launcher, Java 11+):
//   java -cp .../duis-sign-wrap/dist/tool.jar DuisSignStream.java
// Protocol on stdin/stdout, one request at a time:
//   in:  a line "<verb> <n> [<cert> <key>]" then n bytes; verb is sign (the tool sets the
//        RequestID's counter to the time in ms, as the DCC's Node-RED node asks it to),
//        sign-keep (--preserveCounter: the signed pre-command) or validate; cert and key
//        (PEM files, the key PKCS#8) are the tool's own optional arguments, for a
//        user whose key its library does not hold (else it looks the key up by originator)
//   out: a line "<code> <n>" then n bytes: code 0 and the tool's output, else the tool's
//        exit code (2 error, 3 no key for the originator, 10 invalid) and its messages;
//        "exit <n>" and the messages when the tool ends the JVM itself (it calls
//        System.exit on a document that does not parse): the caller starts it again
import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

public class DuisSignStream {
  private static volatile ByteArrayOutputStream pending;

  public static void main(String[] args) throws IOException {
    InputStream in = new BufferedInputStream(System.in);
    OutputStream out = System.out;
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      ByteArrayOutputStream messages = pending;
      if (messages != null) {
        try {
          byte[] answer = messages.toByteArray();
          out.write(("exit " + answer.length + "\n").getBytes(StandardCharsets.US_ASCII));
          out.write(answer);
          out.flush();
        } catch (IOException e) {
          // the caller sees the stream end instead
        }
      }
    }));
    while (true) {
      String line = readLine(in);
      if (line == null) {
        return;
      }
      String[] parts = line.trim().split(" ");
      byte[] document = in.readNBytes(Integer.parseInt(parts[1]));
      ByteArrayOutputStream produced = new ByteArrayOutputStream();
      ByteArrayOutputStream messages = new ByteArrayOutputStream();
      int code;
      System.setIn(new ByteArrayInputStream(document));
      System.setOut(new PrintStream(produced, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(messages, true, StandardCharsets.UTF_8));
      pending = messages;
      try {
        code = run(parts);
      } catch (RuntimeException e) {
        e.printStackTrace(System.err);
        code = 2;
      } finally {
        System.out.flush();
        System.err.flush();
        pending = null;
      }
      byte[] answer = code == 0 ? produced.toByteArray() : messages.toByteArray();
      out.write((code + " " + answer.length + "\n").getBytes(StandardCharsets.US_ASCII));
      out.write(answer);
      out.flush();
    }
  }

  private static int run(String[] parts) {
    String verb = parts[0];
    java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("-"));
    if (verb.equals("sign-keep")) {
      args.add("--preserveCounter");
    }
    for (int i = 2; i < parts.length; i++) {
      args.add(parts[i]);
    }
    switch (verb) {
      case "sign":
      case "sign-keep":
        return uk.co.smartdcc.boxed.xmldsig.Sign.main_aux(args.toArray(new String[0])).value();
      case "validate":
        return uk.co.smartdcc.boxed.xmldsig.Validate.main_aux(new String[] {"-"}).value();
      default:
        System.err.println("unknown verb: " + verb);
        return 2;
    }
  }

  private static String readLine(InputStream in) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    int b;
    while ((b = in.read()) != -1 && b != '\n') {
      line.write(b);
    }
    return b == -1 && line.size() == 0 ? null : line.toString(StandardCharsets.US_ASCII);
  }
}
