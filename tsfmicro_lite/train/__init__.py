"""tsfmicro_lite.train"""
