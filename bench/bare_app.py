"""The yardstick for bench/budget.py: a bare Flask + OpenCV app doing the resize ``/api/process`` does."""

import cv2
import numpy as np
from flask import Flask, Response, request

app = Flask(__name__)


@app.post("/resize")
def resize():
    data = np.frombuffer(request.files["file"].read(), np.uint8)
    width = int(request.form["width"])
    img = cv2.imdecode(data, cv2.IMREAD_REDUCED_COLOR_4)  # the app's DCT-scaled decode for these widths
    height = round(img.shape[0] * width / img.shape[1])
    img = cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)
    return Response(cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes(), mimetype="image/jpeg")
