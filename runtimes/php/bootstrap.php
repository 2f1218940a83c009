<?php
// Strato's PHP guest, first process: the output pump. It starts the worker (worker.php, which
// loads the function and serves invocations), gives it a socket as fd 1 and fd 2, and forwards
// everything the function writes there (echo, print, fwrite(STDERR), error_log(), PHP's own
// warnings, programs it runs) to the real fd 1, counting the bytes. The worker sends its frames
// through this process too (fd 4), so each frame leaves with `out` = the bytes forwarded before
// it: before forwarding a frame the pump drains the output socket, which already holds whatever
// the worker wrote before it sent the frame (a Unix socket write is queued at the peer when it
// returns). No reliance on output buffering: nothing the function writes escapes the count.
// It also sees the worker's exit status, so exit() during an invocation becomes an `exit` frame.
declare(strict_types=1);

const PREFIX = 8;

$maxLog = (int) (getenv('STRATO_MAX_LOG_BYTES') ?: 1048576);
$host1 = fopen('php://fd/1', 'wb');
$control = fopen('php://fd/3', 'r+b');
[$outRead, $outWrite] = stream_socket_pair(STREAM_PF_UNIX, STREAM_SOCK_STREAM, STREAM_IPPROTO_IP);
[$frameRead, $frameWrite] = stream_socket_pair(STREAM_PF_UNIX, STREAM_SOCK_STREAM, STREAM_IPPROTO_IP);

$childDied = false;
pcntl_async_signals(true);
pcntl_signal(SIGCHLD, function () use (&$childDied): void {
    $childDied = true;
});

$worker = proc_open(
    [
        PHP_BINARY,
        '-n',
        '-d', 'display_errors=stderr',
        '-d', 'log_errors=0',
        '-d', 'html_errors=0',
        __DIR__ . '/worker.php',
    ],
    [0 => ['file', '/dev/null', 'r'], 1 => $outWrite, 2 => $outWrite, 3 => $control, 4 => $frameWrite],
    $pipes,
);
if ($worker === false) {
    fwrite(STDERR, "strato php guest: cannot start the worker\n");
    exit(70);
}
fclose($outWrite);
fclose($frameWrite);
foreach ([$outRead, $frameRead] as $s) {
    stream_set_blocking($s, false);
    stream_set_read_buffer($s, 0);
}

$total = 0;        // bytes written to fd 1 so far: every frame's `out`
$invocation = 0;   // bytes of the current invocation, for the per-invocation cap
$capped = false;
$inFlight = null;  // id of the invocation the worker is running (its `begin`, not yet its result)
$pending = '';     // frame bytes from the worker not yet complete
$tail = '';        // the last output forwarded, to tell PHP's own out-of-memory exit from exit(1)

function write_all($stream, string $data): void
{
    while ($data !== '') {
        $n = @fwrite($stream, $data);
        if ($n === false || $n === 0) {
            // The host closed its end: nothing left to do for this instance.
            exit(0);
        }
        $data = substr($data, $n);
    }
}

$forward = function (string $data) use (&$total, &$invocation, &$capped, &$tail, $maxLog, $host1): void {
    $tail = substr($tail . $data, -1024);
    if ($capped) {
        return;
    }
    if ($invocation + strlen($data) > $maxLog) {
        $capped = true;
        $data = substr($data, 0, max(0, $maxLog - $invocation))
            . "\n[log truncated: the limit is {$maxLog} bytes per invocation]\n";
    }
    $invocation += strlen($data);
    $total += strlen($data);
    write_all($host1, $data);
};

$drainOutput = function () use ($outRead, $forward): bool {
    while (true) {
        $chunk = fread($outRead, 65536);
        if ($chunk === false || $chunk === '') {
            return !feof($outRead);
        }
        $forward($chunk);
    }
};

$sendFrame = function (array $header, string $payload) use (&$total, $control): void {
    $header['out'] = $total;
    $h = json_encode($header, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
    write_all($control, pack('NN', strlen($h), strlen($payload)) . $h . $payload);
};

$handleFrames = function () use (&$pending, &$inFlight, &$invocation, &$capped, $drainOutput, $sendFrame): void {
    while (strlen($pending) >= PREFIX) {
        ['h' => $hLen, 'p' => $pLen] = unpack('Nh/Np', $pending);
        if (strlen($pending) < PREFIX + $hLen + $pLen) {
            return;
        }
        $header = json_decode(substr($pending, PREFIX, $hLen), true);
        $payload = substr($pending, PREFIX + $hLen, $pLen);
        $pending = substr($pending, PREFIX + $hLen + $pLen);
        if (!is_array($header)) {
            continue;
        }
        if (($header['t'] ?? '') === 'begin') {
            // Said by the worker before it calls the handler: the output cap restarts here.
            $inFlight = $header['id'];
            $invocation = 0;
            $capped = false;
            continue;
        }
        if (($header['t'] ?? '') === 'result') {
            $inFlight = null;
        }
        $drainOutput();
        $sendFrame($header, $payload);
    }
};

$outOpen = true;
$frameOpen = true;
while (true) {
    $read = [];
    if ($outOpen) {
        $read[] = $outRead;
    }
    if ($frameOpen) {
        $read[] = $frameRead;
    }
    $write = null;
    $except = null;
    $ready = $read === [] || $childDied ? 0 : @stream_select($read, $write, $except, null);
    if ($ready !== false && $ready > 0) {
        // Frames first: the worker sends `begin` before the handler writes anything, so output
        // that is readable with a `begin` is the new invocation's; forwarded before it, it would
        // fall under the previous invocation's (perhaps exhausted) cap and be lost.
        if (in_array($frameRead, $read, true)) {
            while (($chunk = fread($frameRead, 1 << 20)) !== false && $chunk !== '') {
                $pending .= $chunk;
            }
            $frameOpen = !feof($frameRead);
            $handleFrames();
        }
        if (in_array($outRead, $read, true)) {
            $outOpen = $drainOutput();
        }
    }
    if (!$childDied && $frameOpen) {
        continue;
    }
    $status = proc_get_status($worker);
    if ($status['running']) {
        // The worker closed fd 4 but lives on, or SIGCHLD came from something else it started.
        $childDied = false;
        if (!$frameOpen && !$outOpen) {
            usleep(10000);
        }
        continue;
    }
    // The worker is gone: whatever it wrote is in the sockets now.
    while (($chunk = fread($frameRead, 1 << 20)) !== false && $chunk !== '') {
        $pending .= $chunk;
    }
    $handleFrames();
    $drainOutput();
    if ($status['signaled']) {
        // As a shell would report it; the host classifies the death (its cgroup saw any OOM kill).
        exit(128 + $status['termsig']);
    }
    $code = $status['exitcode'];
    if ($inFlight !== null && $code === 1 && str_ends_with($tail, "Out of memory\n")) {
        // The Zend allocator could not map memory (an address-space limit, no cgroup): it prints
        // this and exits(1) without shutdown functions. The host's stderr tail tells it apart.
        fwrite(STDERR, $tail);
        exit(1);
    }
    if ($inFlight !== null) {
        // The function ended the process during an invocation (exit() / die).
        $sendFrame(['t' => 'exit', 'id' => $inFlight, 'code' => $code], '');
    }
    exit($code);
}
