"""The control window's panels, in display order (one class per module; see visualizer/app/panel.py)."""
from visualizer.app.panels.capture import CapturePanel
from visualizer.app.panels.checkpoint import CheckpointPanel
from visualizer.app.panels.equivariance import EquivariancePanel
from visualizer.app.panels.latent import LatentPanel
from visualizer.app.panels.performance import PerformancePanel
from visualizer.app.panels.sticking import StickingPanel
from visualizer.app.panels.transform import TransformPanel
from visualizer.app.panels.video_export import VideoExportPanel
from visualizer.app.panels.view import ViewPanel

PANEL_CLASSES = [
    CheckpointPanel,
    LatentPanel,
    TransformPanel,
    ViewPanel,
    EquivariancePanel,
    VideoExportPanel,
    StickingPanel,
    CapturePanel,
    PerformancePanel,
]
