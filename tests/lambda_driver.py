"""Runs inside the Lambda package under Python 3.12, as the Lambda runtime would: imports Zappa's
handler, answers the API Gateway events read from the JSON file ``argv[1]`` and writes the
responses, the timings (wall clock and CPU) and which heavy modules were loaded to ``argv[2]`` (stdout and stderr are
the function's log)."""

import json
import sys
import time

started, started_cpu = time.perf_counter(), time.process_time()
import handler  # noqa: E402  (Zappa's handler.py at the package root)

handler.LambdaHandler()  # what the first invocation does: settings, environment, `import wsgi`
imported, imported_cpu = time.perf_counter(), time.process_time()
WATCH = ("cv2", "numpy", "app.processing.codec", "app.recognition.rekognition")
# Left out of the package (zappa_settings.json): reported if anything imports them.
EXCLUDED = ("numpy.random", "numpy._core._simd", "PIL._imagingft", "PIL._imagingtk")

with open(sys.argv[1]) as f:
    events = json.load(f)
results = []
for event in events:
    begun, begun_cpu = time.perf_counter(), time.process_time()
    response = handler.lambda_handler(event, None)
    results.append(
        {
            "response": response,
            "seconds": time.perf_counter() - begun,
            "cpu_seconds": time.process_time() - begun_cpu,
            "loaded": [m for m in WATCH + EXCLUDED if m in sys.modules],
        }
    )
with open(sys.argv[2], "w") as f:
    json.dump(
        {"import_seconds": imported - started, "import_cpu_seconds": imported_cpu - started_cpu, "results": results}, f
    )
