"""tsfmicro_lite.preprocess"""
