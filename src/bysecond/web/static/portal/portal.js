/* The portal's few behaviours: the daily cost chart and the operator's table filter.
 * The chart uses Chart.js 4.6.1 (MIT licence, https://www.chartjs.org), bundled as
 * chart.umd.min.js from the npm package chart.js@4.6.1: nothing is fetched from the network.
 * Amounts arrive as decimal strings; they become numbers only to draw bars. */
(function () {
  "use strict";

  function dailyChart() {
    var source = document.getElementById("daily-data");
    var canvas = document.getElementById("daily-chart");
    if (!source || !canvas || typeof Chart === "undefined") return;
    var data = JSON.parse(source.textContent);
    var palette = ["#1d4ed8", "#b45309", "#047857", "#7c3aed", "#be123c", "#0e7490", "#4d7c0f", "#a21caf"];
    var money = new Intl.NumberFormat("en-GB", { style: "currency", currency: data.currency });
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.days.map(function (d) { return d.slice(8); }),
        datasets: data.series.map(function (s, i) {
          return {
            label: s.label,
            data: s.amounts.map(Number),
            backgroundColor: palette[i % palette.length],
            stack: "cost"
          };
        })
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { stacked: true, title: { display: true, text: "Day of " + data.days[0].slice(0, 7) } },
          y: { stacked: true, ticks: { callback: function (v) { return money.format(v); } } }
        },
        plugins: {
          legend: { position: "bottom" },
          tooltip: { callbacks: { label: function (c) { return c.dataset.label + ": " + money.format(c.raw); } } }
        }
      }
    });
  }

  function tableFilter() {
    document.querySelectorAll("input[data-filter]").forEach(function (input) {
      var rows = document.querySelectorAll(input.dataset.filter + " tbody tr");
      input.addEventListener("input", function () {
        var needle = input.value.trim().toLowerCase();
        rows.forEach(function (row) {
          row.hidden = needle !== "" && row.textContent.toLowerCase().indexOf(needle) < 0;
        });
      });
    });
  }

  dailyChart();
  tableFilter();
})();
