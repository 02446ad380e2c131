"""The control window's panels, in display order (one class per module; see visualizer/app/panel.py)."""
from eqviz.app.panels.capture import CapturePanel
from eqviz.app.panels.checkpoint import CheckpointPanel
from eqviz.app.panels.directions import DirectionsPanel
from eqviz.app.panels.equivariance import EquivariancePanel
from eqviz.app.panels.keyframes import KeyframesPanel
from eqviz.app.panels.latent import LatentPanel
from eqviz.app.panels.performance import PerformancePanel
from eqviz.app.panels.projection import ProjectionPanel
from eqviz.app.panels.sticking import StickingPanel
from eqviz.app.panels.transform import TransformPanel
from eqviz.app.panels.video_export import VideoExportPanel
from eqviz.app.panels.view import ViewPanel

PANEL_CLASSES = [
    CheckpointPanel,
    LatentPanel,
    ProjectionPanel,
    TransformPanel,
    DirectionsPanel,
    ViewPanel,
    EquivariancePanel,
    VideoExportPanel,
    KeyframesPanel,
    StickingPanel,
    CapturePanel,
    PerformancePanel,
]
