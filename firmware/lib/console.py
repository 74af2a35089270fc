# The console commands every role answers the same way (docs/firmware.md, docs/commshub.md):
# ping, mains, clock, log, sync, rejected, mem. A role's console tries its own commands first and
# hands the rest to common(); None means "not a common command" (the role says unknown).

ZIGBEE_EPOCH_OFFSET = 946684800  # unix seconds at 2000-01-01T00:00:00Z


def common(app, board, cmd, args):
    if cmd == "ping":
        return ["pong " + " ".join(args)]
    if cmd == "mains" and len(args) == 1 and args[0] in ("on", "off"):
        app.set_mains(args[0] == "on")
        return ["ok mains " + args[0]]
    if cmd == "clock" and len(args) == 1:
        try:
            unix = int(args[0])
        except ValueError:
            return ["error clock value"]
        if unix < ZIGBEE_EPOCH_OFFSET:
            return ["error clock value"]
        # a board that can simulate time freezes it; a real one sets its RTC
        getattr(board.clock, "freeze", board.clock.set_utc)(unix - ZIGBEE_EPOCH_OFFSET)
        app.tick()
        return ["ok clock %d" % unix]
    if cmd == "log":
        count = 10
        if args:
            try:
                count = int(args[0])
            except ValueError:
                return ["error log count"]
        return _log_lines(app, count)
    if cmd == "advance" and len(args) == 1 and hasattr(board.clock, "advance"):
        try:
            ms = int(args[0])
        except ValueError:
            return ["error advance value"]
        board.clock.advance(ms)
        app.tick()
        return ["ok advance %d" % ms]
    if cmd == "sync":
        app.log.flush()  # the log's batch in RAM to flash now (before a planned power cut)
        return ["ok sync"]
    if cmd == "rejected":
        parts = ["rejected total=%d" % app.rejected_total]
        for reason in sorted(app.rejected):
            parts.append("%s=%d" % (reason, app.rejected[reason]))
        return [" ".join(parts)]
    if cmd == "boot":  # why the board last started, and its watchdog resets so far
        return [getattr(board, "boot", "boot reset_cause=?")]
    if cmd == "mem":  # and the largest block one allocation can have: how fragmented
        import gc
        gc.collect()
        lo, hi = 0, gc.mem_free()
        while lo < hi:
            mid = (lo + hi + 1) // 2
            try:
                bytearray(mid)
                lo = mid
            except MemoryError:
                hi = mid - 1
        gc.collect()
        return ["mem free=%d alloc=%d largest=%d" % (gc.mem_free(), gc.mem_alloc(), lo)]
    return None


def _log_lines(app, count):
    # A generator: the entries go out one by one, so `log 500` needs no big list in RAM (the
    # log's walk holds when a flush moves entries to flash between lines: EventLog.last).
    for seq, when, text in app.log.last(count):
        yield "log %d %d %s" % (seq, when + ZIGBEE_EPOCH_OFFSET, text)
    yield "end"
